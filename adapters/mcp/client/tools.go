package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/taskrouter/taskrouter/task"
)

// Limits on what a server's tool list may bring into the catalog, which
// routers keep and LLM planners read.
const (
	maxSchemaBytes      = 64 << 10
	maxSchemaDepth      = 32
	maxDescriptionBytes = 2 << 10
)

// Tool is one tool of a server, as taskrouter serves it: a capability,
// and the compiled schema its arguments are checked against.
type Tool struct {
	// Capability is the tool's entry in the catalog: its name
	// (CapabilityName), description and input schema.
	Capability task.Capability
	// Name is the tool's own name on its server.
	Name   string
	schema *jsonschema.Schema
	params []param
}

// param is one top-level parameter of a tool's input schema.
type param struct {
	name     string
	types    []string // the JSON types its schema allows; empty when it says none
	items    []string // an array's item types
	required bool
}

// convertTools turns a server's tool list into Tools, in the server's
// order; a tool whose schema is invalid, or whose capability name another
// tool of the list took, is left out with the reason.
func convertTools(server string, list []*mcp.Tool) ([]*Tool, []error) {
	var out []*Tool
	var skipped []error
	seen := map[string]string{}
	for _, mt := range list {
		t, err := convertTool(server, mt)
		if err != nil {
			skipped = append(skipped, err)
			continue
		}
		if other, dup := seen[t.Capability.Name]; dup {
			skipped = append(skipped, fmt.Errorf("tool %q of server %s: its capability name %s is taken by tool %q; rename one of them on the server",
				mt.Name, server, t.Capability.Name, other))
			continue
		}
		seen[t.Capability.Name] = mt.Name
		out = append(out, t)
	}
	return out, skipped
}

func convertTool(server string, mt *mcp.Tool) (*Tool, error) {
	raw, err := json.Marshal(mt.InputSchema)
	if err != nil {
		return nil, fmt.Errorf("tool %q of server %s: encoding its input schema: %w", mt.Name, server, err)
	}
	sch, params, err := compileSchema(raw)
	if err != nil {
		return nil, fmt.Errorf("tool %q of server %s has an invalid input schema, so it is not served: %w", mt.Name, server, err)
	}
	output := "text"
	if mt.OutputSchema != nil {
		output = "json"
	}
	return &Tool{Name: mt.Name, schema: sch, params: params, Capability: task.Capability{
		Name:        CapabilityName(server, mt.Name),
		Description: describe(server, mt),
		Inputs:      []string{"text"},
		Outputs:     []string{output},
		Keywords:    keywords(mt),
		InputSchema: raw,
	}}, nil
}

// describe is the tool's description for the catalog: its own, cut to
// maxDescriptionBytes, or its title and name when it has none (the
// catalog requires one).
func describe(server string, mt *mcp.Tool) string {
	d := strings.Join(strings.Fields(mt.Description), " ")
	if d == "" {
		d = strings.TrimSpace(mt.Title + " (tool " + mt.Name + " of MCP server " + server + ")")
	}
	if len(d) > maxDescriptionBytes {
		cut := maxDescriptionBytes
		for cut > 0 && !utf8.RuneStart(d[cut]) {
			cut--
		}
		d = d[:cut] + "…"
	}
	return d
}

// keywords are the words of the tool's name and title, which the rules
// planner weighs above its description: "echo" for a tool named echo.
func keywords(mt *mcp.Tool) []string {
	var out []string
	for _, s := range []string{mt.Name, mt.Title} {
		w := strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '_' || r == '.' || r == '/' || r == ' ' }), " ")
		if w != "" && !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

// compileSchema checks a tool's input schema against its draft's
// meta-schema and compiles it, refusing what no argument object could
// satisfy usefully: a schema that is not an object schema, one too large
// or deep, or one that refers to documents elsewhere (the executor reads
// no file and no URL a server names).
func compileSchema(raw []byte) (*jsonschema.Schema, []param, error) {
	if len(raw) > maxSchemaBytes {
		return nil, nil, fmt.Errorf("it is %d bytes; the limit is %d", len(raw), maxSchemaBytes)
	}
	if err := task.CheckJSONDepth(raw, maxSchemaDepth); err != nil {
		return nil, nil, errors.New(task.AsError(err).Message)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, nil, fmt.Errorf("decoding it: %w", err)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, nil, errors.New("it is not a JSON object")
	}
	if typ, has := obj["type"]; has && typ != "object" {
		return nil, nil, fmt.Errorf(`its type is %v; a tool's input schema has type "object"`, typ)
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	c.DefaultDraft(jsonschema.Draft2020)
	const loc = "urn:taskrouter:tool-input"
	if err := c.AddResource(loc, doc); err != nil {
		return nil, nil, err
	}
	sch, err := c.Compile(loc)
	if err != nil {
		return nil, nil, schemaError(err)
	}
	return sch, paramsOf(obj), nil
}

// schemaError shortens the compiler's error to what is wrong with the
// schema: its meta-schema validation's leaves.
func schemaError(err error) error {
	var se *jsonschema.SchemaValidationError
	if errors.As(err, &se) {
		var ve *jsonschema.ValidationError
		if errors.As(se.Err, &ve) {
			return errors.New(strings.Join(validationLeaves(ve, "at"), "; "))
		}
	}
	return err
}

// noLoader refuses every document a schema refers to outside itself.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("the schema refers to %s; a tool's schema must be self-contained", url)
}

// paramsOf lists an object schema's top-level parameters: the required
// ones in their order, then the others by name.
func paramsOf(obj map[string]any) []param {
	props, _ := obj["properties"].(map[string]any)
	var required []string
	if list, ok := obj["required"].([]any); ok {
		for _, v := range list {
			if s, ok := v.(string); ok && !slices.Contains(required, s) {
				required = append(required, s)
			}
		}
	}
	var out []param
	for _, name := range required {
		out = append(out, newParam(name, props[name], true))
	}
	var rest []string
	for name := range props {
		if !slices.Contains(required, name) {
			rest = append(rest, name)
		}
	}
	slices.Sort(rest)
	for _, name := range rest {
		out = append(out, newParam(name, props[name], false))
	}
	return out
}

func newParam(name string, schema any, required bool) param {
	p := param{name: name, required: required}
	s, _ := schema.(map[string]any)
	p.types = typesOf(s)
	if items, ok := s["items"].(map[string]any); ok {
		p.items = typesOf(items)
	}
	return p
}

// typesOf reads a schema's "type", a string or a list.
func typesOf(s map[string]any) []string {
	switch t := s["type"].(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, v := range t {
			if str, ok := v.(string); ok {
				out = append(out, str)
			}
		}
		return out
	}
	return nil
}
