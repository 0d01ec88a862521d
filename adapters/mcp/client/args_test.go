package client

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/taskrouter/taskrouter/task"
)

const argsSchema = `{"type": "object", "properties": {
	"query": {"type": "string"}, "limit": {"type": "integer", "minimum": 1}, "ratio": {"type": "number"},
	"exact": {"type": "boolean"}, "tags": {"type": "array", "items": {"type": "string"}},
	"ids": {"type": "array", "items": {"type": "integer"}}, "filter": {"type": "object"}, "maybe": {"type": ["integer", "null"]}},
	"required": ["query"], "additionalProperties": false}`

func testTool(t testing.TB, schema string) *Tool {
	t.Helper()
	tool, err := convertTool("srv", &mcp.Tool{Name: "search", Description: "Searches", InputSchema: json.RawMessage(schema)})
	if err != nil {
		t.Fatal(err)
	}
	return tool
}

func TestArguments(t *testing.T) {
	tool := testTool(t, argsSchema)
	for _, c := range []struct {
		input string
		args  map[string]string
		want  string // JSON, or the error's text
	}{
		{"cats", nil, `{"query":"cats"}`},
		{"cats", map[string]string{"limit": "17", "ratio": "0.5", "exact": "yes"}, `{"exact":true,"limit":17,"query":"cats","ratio":0.5}`},
		{"", map[string]string{"query": "q", "tags": "a, b", "ids": "[1,2]"}, `{"ids":[1,2],"query":"q","tags":["a","b"]}`},
		{"", map[string]string{"query": "q", "ids": "3, 4", "filter": `{"lang": "go"}`, "maybe": "null"}, `{"filter":{"lang":"go"},"ids":[3,4],"maybe":null,"query":"q"}`},
		{`{"query": "from json", "limit": 2}`, map[string]string{"limit": "3"}, `{"limit":3,"query":"from json"}`},
		{"", nil, `missing required parameter "query"`},
		{"q", map[string]string{"limit": "many"}, `parameter "limit": "many" is not a integer`},
		{"q", map[string]string{"limit": "1.5"}, `parameter "limit": "1.5" is not an integer`},
		{"q", map[string]string{"limit": "0"}, `parameter "limit"`},
		{"q", map[string]string{"ratio": "0x10"}, `is not a number`},
		{"q", map[string]string{"exact": "perhaps"}, `is not a boolean`},
		{"q", map[string]string{"filter": "[1]"}, `is not a JSON object`},
		{"q", map[string]string{"ids": "1, two"}, `item " two"`},
		{"q", map[string]string{"color": "red"}, `unknown parameter "color"`},
	} {
		got, err := tool.Arguments(c.input, c.args)
		if err != nil {
			te := task.AsError(err)
			if te.Code != task.CodeInvalidArgs || !strings.Contains(te.Message, c.want) || !strings.Contains(te.Message, "query (string, required)") {
				t.Errorf("Arguments(%q, %v): %v, want an invalid_args error saying %s", c.input, c.args, err, c.want)
			}
			continue
		}
		data, _ := json.Marshal(got)
		if string(data) != c.want {
			t.Errorf("Arguments(%q, %v) = %s, want %s", c.input, c.args, data, c.want)
		}
	}
}

func TestInvalidSchemas(t *testing.T) {
	for _, c := range []struct{ schema, says string }{
		{`{"type": "object", "properties": {"n": {"type": "nummber"}}}`, `at "properties/n/type": value must be one of`},
		{`{"type": "object", "required": "n"}`, "required"},
		{`{"type": "string"}`, `type "object"`},
		{`{"type": "object", "properties": {"n": {"$ref": "file:///etc/passwd"}}}`, "self-contained"},
		{`{"type": "object", "properties": {"n": {"$ref": "https://example.com/s.json"}}}`, "self-contained"},
		{`[1]`, "not a JSON object"},
		{`{"type": "object", "properties": {"p": {"pattern": "("}}}`, "pattern"},
	} {
		_, err := convertTool("srv", &mcp.Tool{Name: "bad", InputSchema: json.RawMessage(c.schema)})
		if err == nil || !strings.Contains(err.Error(), c.says) || !strings.Contains(err.Error(), `tool "bad" of server srv`) {
			t.Errorf("schema %s: %v, want an error naming the tool and saying %q", c.schema, err, c.says)
		}
	}
}

func FuzzArguments(f *testing.F) {
	f.Add("cats", "limit", "17", argsSchema)
	f.Add(`{"query": 1}`, "ids", "1,2", argsSchema)
	f.Add("", "maybe", "null", `{"type": "object", "properties": {"x": {"anyOf": [{"type": "integer"}, {"$ref": "#/$defs/s"}]}}, "$defs": {"s": {"type": "string"}}}`)
	f.Add("x", "x", "[[[[1]]]]", `{"type": "object", "properties": {"x": {"type": "array", "items": {"type": "array"}}}}`)
	f.Fuzz(func(t *testing.T, input, key, value, schema string) {
		tool, err := convertTool("srv", &mcp.Tool{Name: "t", InputSchema: json.RawMessage(schema)})
		if err != nil {
			return
		}
		args, err := tool.Arguments(input, map[string]string{key: value})
		if err != nil {
			if te := task.AsError(err); te.Code != task.CodeInvalidArgs {
				t.Fatalf("error %v is not invalid_args", err)
			}
			return
		}
		if _, err := json.Marshal(args); err != nil {
			t.Fatalf("arguments that validated do not encode: %v", err)
		}
	})
}
