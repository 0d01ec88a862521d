package server

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/taskrouter/taskrouter/task"
)

// TestSchemasMatchArgs: every parameter a tool's input schema describes
// is one its arguments decode, and the other way round, so the schema an
// agent reads never drifts from what the server takes.
func TestSchemasMatchArgs(t *testing.T) {
	for _, c := range []struct {
		tool   string
		schema json.RawMessage
		args   any
	}{{toolAsk, askInputSchema, &askArgs{}}, {toolPlan, planInputSchema, &planArgs{}}, {toolModels, modelsInputSchema, &modelsArgs{}}} {
		var s struct {
			Type       string                     `json:"type"`
			Properties map[string]json.RawMessage `json:"properties"`
			Additional *bool                      `json:"additionalProperties"`
		}
		if err := json.Unmarshal(c.schema, &s); err != nil {
			t.Fatalf("%s's input schema: %v", c.tool, err)
		}
		var props []string
		for name := range s.Properties {
			props = append(props, name)
		}
		slices.Sort(props)
		params := paramNames(c.args)
		slices.Sort(params)
		if !slices.Equal(props, params) || s.Type != "object" || s.Additional == nil || *s.Additional {
			t.Errorf("%s: schema properties %v (additionalProperties %v), arguments %v", c.tool, props, s.Additional, params)
		}
	}
	for _, out := range []json.RawMessage{askOutputSchema, planOutputSchema, modelsOutputSchema} {
		if !json.Valid(out) {
			t.Errorf("an output schema is not JSON: %s", out)
		}
	}
}

// TestAskRequest: the arguments become the request they describe.
func TestAskRequest(t *testing.T) {
	var a askArgs
	if err := decodeArgs(json.RawMessage(`{"input":"What is 2+2?","planner":"rules","model":" gpt-4o ","policy":"cost","max_cost":0.5,"prefer_local":true,"timeout_seconds":1.5}`), &a, toolAsk); err != nil {
		t.Fatal(err)
	}
	req, err := a.request(task.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if req.Input != "What is 2+2?" || req.Planner != "rules" || req.Model != "gpt-4o" || req.Policy != "cost" || req.MaxCostUSD != 0.5 ||
		!req.PreferLocal || req.TimeoutMs != 1500 || req.Ingress != task.IngressMCP || !strings.HasPrefix(req.ID, "req_") {
		t.Errorf("request = %+v", req)
	}
	if _, err := (askArgs{Input: strings.Repeat("x", 2000)}).request(task.Limits{MaxInputBytes: 1000}); err == nil || !strings.Contains(err.Error(), "more than the limit of 1000") {
		t.Errorf("an input over the limit: %v", err)
	}
}

// FuzzDecodeArgs: no tool call's arguments panic the server; each is
// either taken, refused as a tool error that names what is wrong, or
// refused as a malformed call.
func FuzzDecodeArgs(f *testing.F) {
	for _, seed := range []string{`{"input":"What is 17 * 23 + 4?"}`, `null`, ``, `[]`, `"x"`, `{"inptu":1}`, `{"max_cost":"x"}`,
		`{"max_cost":1e400}`, `{"timeout_seconds":-1}`, `{"INPUT":"x"}`, `{"input":"x","input":7}`, `{"capability":"summarise"}`, `{"input":{"a":[1]}}`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for tool, args := range map[string]any{toolAsk: &askArgs{}, toolPlan: &planArgs{}, toolModels: &modelsArgs{}} {
			err := decodeArgs(json.RawMessage(raw), args, tool)
			var protocol *jsonrpc.Error
			var arg *argError
			switch {
			case err == nil:
				if a, ok := args.(*askArgs); ok {
					if _, err := a.request(task.Limits{}); err != nil && !errors.As(err, &arg) {
						t.Fatalf("ask %q: %v is neither taken nor an argument error", raw, err)
					}
				}
			case errors.As(err, &protocol):
				if protocol.Code != jsonrpc.CodeInvalidParams {
					t.Fatalf("%s %q: protocol error %v", tool, raw, protocol)
				}
			case errors.As(err, &arg):
				if !strings.HasPrefix(arg.msg, tool) {
					t.Fatalf("%s %q: %q does not name the tool", tool, raw, arg.msg)
				}
			default:
				t.Fatalf("%s %q: unexpected error %T %v", tool, raw, err, err)
			}
		}
	})
}
