package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/taskrouter/taskrouter/task"
)

// Arguments builds the arguments of a call of the tool from a subtask's
// input and args, converted to the types the tool's input schema gives
// its parameters and checked against the whole schema before anything
// is called:
//
//   - an input that is a JSON object gives its fields as arguments;
//   - any other input fills the first required parameter that args do
//     not set, else the first string parameter args do not set, else it
//     is not used (the tool takes no such text);
//   - every arg sets the parameter of its name, over the input's;
//   - a text value for a parameter that is not a string is converted: a
//     number or integer from its digits ("17" is 17), a boolean from
//     true/false/yes/no/1/0, an object or array from its JSON (an array
//     also from comma-separated items), null from "" or "null".
//
// The error is a *task.Error with task.CodeInvalidArgs that names the
// parameter and says what the tool takes.
func (t *Tool) Arguments(input string, args map[string]string) (map[string]any, error) {
	out := map[string]any{}
	if obj, ok := jsonObject(input); ok {
		out = obj
	} else if in := strings.TrimSpace(input); in != "" {
		if slot := t.inputSlot(args); slot != "" {
			out[slot] = input
		}
	}
	for k, v := range args {
		out[k] = v
	}
	for _, p := range t.params {
		s, ok := out[p.name].(string)
		if !ok {
			continue
		}
		v, err := convert(s, p.types, p.items)
		if err != nil {
			return nil, t.argsError("parameter %q: %v", p.name, err)
		}
		out[p.name] = v
	}
	return out, t.check(out)
}

// inputSlot is the parameter a text input fills.
func (t *Tool) inputSlot(args map[string]string) string {
	for _, p := range t.params {
		if _, set := args[p.name]; !set && p.required {
			return p.name
		}
	}
	for _, p := range t.params {
		if _, set := args[p.name]; !set && (len(p.types) == 0 || slices.Contains(p.types, "string")) {
			return p.name
		}
	}
	return ""
}

// jsonObject reads text that is one JSON object, keeping numbers exact.
func jsonObject(text string) (map[string]any, bool) {
	text = strings.TrimSpace(text)
	if !strings.HasPrefix(text, "{") || task.CheckJSONDepth([]byte(text), task.MaxJSONDepth) != nil {
		return nil, false
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var obj map[string]any
	if dec.Decode(&obj) != nil || dec.More() {
		return nil, false
	}
	return obj, true
}

// convert turns text into a value of one of the types; a parameter that
// may be a string, or whose schema names no type, keeps the text.
func convert(s string, types, items []string) (any, error) {
	if len(types) == 0 || slices.Contains(types, "string") {
		return s, nil
	}
	var errs []string
	for _, typ := range types {
		v, err := convertTo(s, typ, items)
		if err == nil {
			return v, nil
		}
		errs = append(errs, err.Error())
	}
	return nil, errors.New(strings.Join(errs, ", and "))
}

func convertTo(s, typ string, items []string) (any, error) {
	t := strings.TrimSpace(s)
	switch typ {
	case "number", "integer":
		return number(t, typ)
	case "boolean":
		switch strings.ToLower(t) {
		case "true", "yes", "1", "on":
			return true, nil
		case "false", "no", "0", "off":
			return false, nil
		}
		return nil, fmt.Errorf("%q is not a boolean (true or false)", clip(s))
	case "null":
		if t == "" || t == "null" {
			return nil, nil
		}
		return nil, fmt.Errorf("%q is not null", clip(s))
	case "object", "array":
		return structured(t, typ, items)
	}
	return nil, fmt.Errorf("the schema's type %q is not one taskrouter converts text to", typ)
}

// number reads a JSON number, keeping its digits exact.
func number(t, typ string) (any, error) {
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || t == "" || !(t[0] == '-' || t[0] >= '0' && t[0] <= '9') || !json.Valid([]byte(t)) {
		return nil, fmt.Errorf("%q is not a %s", clip(t), typ)
	}
	if typ == "integer" && (f != math.Trunc(f) || math.IsInf(f, 0)) {
		return nil, fmt.Errorf("%q is not an integer", clip(t))
	}
	return json.Number(t), nil
}

// structured reads an object or an array from JSON, or an array from
// comma-separated items, each converted to the item type.
func structured(t, typ string, items []string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(t))
	dec.UseNumber()
	var v any
	if task.CheckJSONDepth([]byte(t), task.MaxJSONDepth) == nil && dec.Decode(&v) == nil && !dec.More() {
		switch v.(type) {
		case map[string]any:
			if typ == "object" {
				return v, nil
			}
		case []any:
			if typ == "array" {
				return v, nil
			}
		}
	}
	if typ == "object" {
		return nil, fmt.Errorf("%q is not a JSON object", clip(t))
	}
	var out []any
	for _, part := range strings.Split(t, ",") {
		item, err := convert(strings.TrimSpace(part), items, nil)
		if err != nil {
			return nil, fmt.Errorf("item %q: %w", clip(part), err)
		}
		out = append(out, item)
	}
	return out, nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// check validates the arguments against the whole schema.
func (t *Tool) check(args map[string]any) error {
	raw, err := json.Marshal(args)
	if err != nil {
		return t.argsError("encoding the arguments: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return t.argsError("decoding the arguments: %v", err)
	}
	err = t.schema.Validate(inst)
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		return t.argsError("%s", strings.Join(validationLeaves(ve, "parameter"), "; "))
	}
	if err != nil {
		return t.argsError("%v", err)
	}
	return nil
}

func (t *Tool) argsError(format string, args ...any) *task.Error {
	return task.Errorf(task.CodeInvalidArgs, "tool %s (%s): %s; it takes %s", t.Capability.Name, t.Name, fmt.Sprintf(format, args...), t.Signature())
}

// Signature says in words what the tool takes: each parameter, its
// types, and whether it is required.
func (t *Tool) Signature() string {
	if len(t.params) == 0 {
		return "no parameters"
	}
	parts := make([]string, len(t.params))
	for i, p := range t.params {
		desc := strings.Join(p.types, " or ")
		if desc == "" {
			desc = "any"
		}
		if p.required {
			desc += ", required"
		}
		parts[i] = fmt.Sprintf("%s (%s)", p.name, desc)
	}
	return strings.Join(parts, ", ")
}

var printer = message.NewPrinter(language.English)

// validationLeaves says what failed, one phrase per innermost error,
// naming where each is: the parameter of arguments, the location in a
// schema checked against its meta-schema.
func validationLeaves(ve *jsonschema.ValidationError, where string) []string {
	if len(ve.Causes) > 0 {
		var out []string
		for _, c := range ve.Causes {
			for _, leaf := range validationLeaves(c, where) {
				if !slices.Contains(out, leaf) {
					out = append(out, leaf)
				}
			}
		}
		return out
	}
	at := strings.Join(ve.InstanceLocation, "/")
	switch k := ve.ErrorKind.(type) {
	case *kind.Required:
		where := ""
		if at != "" {
			where = " of " + strconv.Quote(at)
		}
		var out []string
		for _, m := range k.Missing {
			out = append(out, fmt.Sprintf("missing required parameter %q%s", m, where))
		}
		return out
	case *kind.Type:
		return []string{fmt.Sprintf("%s %q: got %s, want %s", where, at, k.Got, strings.Join(k.Want, " or "))}
	case *kind.AdditionalProperties:
		return []string{fmt.Sprintf("unknown parameter %s", quoteAll(k.Properties, at))}
	}
	msg := ve.ErrorKind.LocalizedString(printer)
	if at == "" {
		return []string{msg}
	}
	return []string{fmt.Sprintf("%s %q: %s", where, at, msg)}
}

func quoteAll(names []string, at string) string {
	q := make([]string, len(names))
	for i, n := range names {
		if at != "" {
			n = at + "/" + n
		}
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}
