package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// argError is a tool call's argument that is missing, unknown or wrong:
// the call gets a tool error saying which and what to send, so that the
// model that made the call can correct it (MCP reports input validation
// as a tool error, not a protocol error).
type argError struct{ msg string }

func (e *argError) Error() string { return e.msg }

func argErrorf(format string, args ...any) error { return &argError{fmt.Sprintf(format, args...)} }

// decodeArgs reads a tool call's arguments into dst, a pointer to a
// struct whose json tags name the tool's parameters. Arguments that are
// not a JSON object make the call malformed: a protocol error
// (invalid params). An unknown parameter, or a value of the wrong JSON
// type, is an *argError naming it. Absent and null arguments are {}.
func decodeArgs(raw json.RawMessage, dst any, tool string) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		raw = []byte("{}")
	}
	var fields map[string]json.RawMessage
	if raw[0] != '{' || json.Unmarshal(raw, &fields) != nil {
		return &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams,
			Message: fmt.Sprintf("the arguments of %s must be a JSON object, such as %s", tool, exampleArgs(tool))}
	}
	known := paramNames(dst)
	for name := range fields {
		if !slices.Contains(known, name) {
			return argErrorf("%s has no parameter %q%s; its parameters are %s", tool, name, nearest(name, known), strings.Join(known, ", "))
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return argErrorf("%s: parameter %q must be %s, not %s", tool, te.Field, jsonKind(te.Type), article(te.Value))
		}
		return argErrorf("%s: reading the arguments: %v", tool, err)
	}
	return nil
}

// paramNames are the json names of a struct's fields, in order.
func paramNames(dst any) []string {
	t := reflect.TypeOf(dst)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

// jsonKind names the JSON value a Go type decodes from.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}

// article names a JSON value kind as encoding/json reports it ("string",
// "number", "bool", "array", "object", or "number 1.5" for a number that
// does not fit).
func article(kind string) string {
	switch {
	case kind == "array" || kind == "object":
		return "an " + kind
	case kind == "bool":
		return "true or false"
	case strings.HasPrefix(kind, "number "):
		return strings.TrimPrefix(kind, "number ")
	}
	return "a " + kind
}

func exampleArgs(tool string) string {
	switch tool {
	case toolModels:
		return `{} or {"capability": "summarize"}`
	}
	return `{"input": "What is 17 * 23 + 4?"}`
}

// nearest returns `; did you mean "x"?` for the known name closest to
// name, when one is close enough to be a slip, else "".
func nearest(name string, known []string) string {
	if len(name) > 64 {
		return ""
	}
	best, bestDist := "", len(name)/2+2
	for _, k := range known {
		if d := editDistance(strings.ToLower(name), k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

// editDistance is Levenshtein's distance, over bytes: names are ASCII.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
