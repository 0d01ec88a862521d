package planner

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/taskrouter/taskrouter/task"
	"go.yaml.in/yaml/v3"
)

// LoadCatalogFile reads capabilities from a YAML (.yaml, .yml) or JSON
// (.json) file. The file holds either a list of capabilities or an object
// {capabilities: [...]}, each with the fields of task.Capability. Decoding
// is strict: an unknown key is an error that names it (and, in YAML, its
// line). Inputs and outputs default to [text].
func LoadCatalogFile(path string) ([]task.Capability, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("loading catalog file: %w", err)
	}
	var format string
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		format = "yaml"
	case ".json":
		format = "json"
	default:
		return nil, fmt.Errorf("loading catalog file %s: unknown extension %q; name it .yaml, .yml or .json", path, filepath.Ext(path))
	}
	caps, err := DecodeCatalog(data, format)
	if err != nil {
		return nil, fmt.Errorf("loading catalog file %s: %w", path, err)
	}
	return caps, nil
}

// DecodeCatalog decodes capabilities in the shape LoadCatalogFile reads;
// format is "yaml" or "json". Every entry is checked: a valid name, a
// description, and no name used twice.
func DecodeCatalog(data []byte, format string) ([]task.Capability, error) {
	var caps []task.Capability
	var err error
	switch format {
	case "yaml":
		caps, err = decodeYAML(data)
	case "json":
		caps, err = decodeJSON(data)
	default:
		return nil, fmt.Errorf("decoding catalog: unknown format %q; use yaml or json", format)
	}
	if err != nil {
		return nil, err
	}
	return checkCapabilities(caps)
}

// capabilityKeys is the hint a decoding error ends with.
const capabilityKeys = "a capability has the keys name, description, inputs, outputs, examples, keywords and titles"

// catalogDoc is the object form of a catalog file.
type catalogDoc struct {
	Capabilities []task.Capability `json:"capabilities" yaml:"capabilities"`
}

func decodeYAML(data []byte) ([]task.Capability, error) {
	var probe yaml.Node
	if err := yaml.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("decoding catalog YAML: %w", err)
	}
	if len(probe.Content) == 0 {
		return nil, errors.New("decoding catalog YAML: the file is empty; list capabilities, or put them under a key capabilities")
	}
	if deep := tooDeep(&probe, task.MaxJSONDepth); deep != nil {
		return nil, fmt.Errorf("decoding catalog YAML: line %d: the YAML is nested more than %d levels deep; %s",
			deep.Line, task.MaxJSONDepth, capabilityKeys)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var caps []task.Capability
	var err error
	switch probe.Content[0].Kind {
	case yaml.SequenceNode:
		err = dec.Decode(&caps)
	case yaml.MappingNode:
		if err := checkObjectShape("YAML", yamlMappingKeys(probe.Content[0])); err != nil {
			return nil, err
		}
		var doc catalogDoc
		err = dec.Decode(&doc)
		caps = doc.Capabilities
	default:
		return nil, fmt.Errorf("decoding catalog YAML: line %d: expected a list of capabilities or a mapping with key capabilities", probe.Content[0].Line)
	}
	if err != nil {
		return nil, fmt.Errorf("decoding catalog YAML: %w; %s", err, capabilityKeys)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("decoding catalog YAML: more than one document in the file; keep one")
	}
	return caps, nil
}

func decodeJSON(data []byte) ([]task.Capability, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("decoding catalog JSON: the file is empty; give a list of capabilities or {\"capabilities\": [...]}")
	}
	depth := task.JSONDepth{Max: task.MaxJSONDepth}
	if at, err := depth.Write(data); err != nil {
		return nil, fmt.Errorf("decoding catalog JSON at line %d: %s; %s", lineAt(data, int64(at)), task.AsError(err).Message, capabilityKeys)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var caps []task.Capability
	var err error
	switch trimmed[0] {
	case '[':
		err = dec.Decode(&caps)
	case '{':
		if err := checkObjectShape("JSON", jsonObjectKeys(data)); err != nil {
			return nil, err
		}
		var doc catalogDoc
		err = dec.Decode(&doc)
		caps = doc.Capabilities
	default:
		return nil, errors.New("decoding catalog JSON: expected a list of capabilities or an object with key \"capabilities\"")
	}
	if err != nil {
		return nil, fmt.Errorf("decoding catalog JSON at line %d: %w; %s", lineAt(data, dec.InputOffset()), err, capabilityKeys)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("decoding catalog JSON at line %d: trailing data after the catalog", lineAt(data, dec.InputOffset()))
	}
	return caps, nil
}

// tooDeep returns the first node of the tree under root, in document
// order, that sits more than max sequences and mappings deep, or nil. It
// walks with a stack of its own, as yaml.v3 allows 10,000 levels; an alias
// counts as a leaf, since yaml.v3 bounds what aliases expand to.
func tooDeep(root *yaml.Node, max int) *yaml.Node {
	type item struct {
		n     *yaml.Node
		depth int
	}
	stack := []item{{root, 0}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		depth := it.depth
		if it.n.Kind == yaml.SequenceNode || it.n.Kind == yaml.MappingNode {
			if depth++; depth > max {
				return it.n
			}
		}
		for i := len(it.n.Content) - 1; i >= 0; i-- {
			stack = append(stack, item{it.n.Content[i], depth})
		}
	}
	return nil
}

func lineAt(data []byte, offset int64) int {
	offset = min(max(offset, 0), int64(len(data)))
	return bytes.Count(data[:offset], []byte("\n")) + 1
}

// checkCapabilities validates entries and fills in default types.
func checkCapabilities(caps []task.Capability) ([]task.Capability, error) {
	if len(caps) == 0 {
		return nil, errors.New("the catalog defines no capabilities")
	}
	seen := map[string]int{}
	for i := range caps {
		c := &caps[i]
		if j, dup := seen[c.Name]; dup {
			return nil, fmt.Errorf("capability %q is defined twice (entries %d and %d); keep one", c.Name, j+1, i+1)
		}
		seen[c.Name] = i
		if len(c.Inputs) == 0 {
			c.Inputs = []string{"text"}
		}
		if len(c.Outputs) == 0 {
			c.Outputs = []string{"text"}
		}
	}
	if _, err := task.NewCatalog(caps...); err != nil {
		return nil, fmt.Errorf("checking capabilities: %w", err)
	}
	return caps, nil
}
