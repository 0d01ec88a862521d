package httpapi

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

const (
	toolsJSON = `[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}},{"type":"function","function":{"name":"get_time"}}]`
	userHi    = `{"role":"user","content":"hi"}`
	callsJSON = `[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]`
)

func boolp(v bool) *bool { return &v }

// chatWith is a chat completion request for model m with the given
// members (without braces) besides model.
func chatWith(model, fields string) []byte {
	return []byte(`{"model":"` + model + `",` + fields + `}`)
}

func TestChatToolFields(t *testing.T) {
	msgs := `"messages":[` + userHi + `]`
	cases := []struct {
		name, model, fields string
		want                *task.Tools
	}{
		{"no tools", "m", msgs, nil},
		{"tools", "m", msgs + `,"tools":` + toolsJSON, &task.Tools{Functions: json.RawMessage(toolsJSON)}},
		{"tool_choice auto", "m", msgs + `,"tools":` + toolsJSON + `,"tool_choice":"auto"`,
			&task.Tools{Functions: json.RawMessage(toolsJSON), Choice: json.RawMessage(`"auto"`)}},
		{"tool_choice required", "m", msgs + `,"tool_choice":"required","tools":` + toolsJSON,
			&task.Tools{Functions: json.RawMessage(toolsJSON), Choice: json.RawMessage(`"required"`)}},
		{"tool_choice none is passed on", "m", msgs + `,"tools":` + toolsJSON + `,"tool_choice":"none"`,
			&task.Tools{Functions: json.RawMessage(toolsJSON), Choice: json.RawMessage(`"none"`)}},
		{"tool_choice naming a function, kept as sent", "m", msgs + `,"tools":` + toolsJSON + `,"tool_choice":{"type":"function", "function":{"name":"get_time"}}`,
			&task.Tools{Functions: json.RawMessage(toolsJSON), Choice: json.RawMessage(`{"type":"function", "function":{"name":"get_time"}}`)}},
		{"parallel_tool_calls false", "m", msgs + `,"parallel_tool_calls":false,"tools":` + toolsJSON,
			&task.Tools{Functions: json.RawMessage(toolsJSON), Parallel: boolp(false)}},
		{"parallel_tool_calls true", "m", msgs + `,"tools":` + toolsJSON + `,"parallel_tool_calls":true`,
			&task.Tools{Functions: json.RawMessage(toolsJSON), Parallel: boolp(true)}},
		{"nulls", "m", msgs + `,"tools":null,"tool_choice":null,"parallel_tool_calls":null`, nil},
		{"empty tools offer nothing", "m", msgs + `,"tools":[],"tool_choice":"auto","parallel_tool_calls":true`, nil},
		{"taskrouter with empty tools", ModelTaskrouter, msgs + `,"tools":[]`, nil},
		{"taskrouter with tools it may not call", ModelTaskrouter, msgs + `,"tools":` + toolsJSON + `,"tool_choice":"none"`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, e := decodeChat(chatWith(c.model, c.fields))
			if e != nil {
				t.Fatalf("error %+v", e)
			}
			if !reflect.DeepEqual(got.tools, c.want) {
				gj, _ := json.Marshal(got.tools)
				wj, _ := json.Marshal(c.want)
				t.Fatalf("tools = %s, want %s", gj, wj)
			}
		})
	}
}

func TestChatToolMessages(t *testing.T) {
	cases := []struct {
		name, messages string
		want           []task.Message
	}{
		{"a tool round trip, content null", `[` + userHi + `,{"role":"assistant","content":null,"tool_calls":` + callsJSON + `},` +
			`{"role":"tool","tool_call_id":"call_1","content":"12 degrees"}]`,
			[]task.Message{{Role: "user", Content: "hi"}, {Role: "assistant", ToolCalls: json.RawMessage(callsJSON)},
				{Role: "tool", ToolCallID: "call_1", Content: "12 degrees"}}},
		{"assistant without content", `[` + userHi + `,{"role":"assistant","tool_calls":` + callsJSON + `}]`,
			[]task.Message{{Role: "user", Content: "hi"}, {Role: "assistant", ToolCalls: json.RawMessage(callsJSON)}}},
		{"assistant with text and calls", `[` + userHi + `,{"role":"assistant","content":"Checking.","tool_calls":` + callsJSON + `}]`,
			[]task.Message{{Role: "user", Content: "hi"}, {Role: "assistant", Content: "Checking.", ToolCalls: json.RawMessage(callsJSON)}}},
		{"empty tool_calls are as if absent", `[` + userHi + `,{"role":"assistant","content":"ok","tool_calls":[]},{"role":"assistant","content":"ok","tool_calls":null}]`,
			[]task.Message{{Role: "user", Content: "hi"}, {Role: "assistant", Content: "ok"}, {Role: "assistant", Content: "ok"}}},
		{"tool content as text parts", `[` + userHi + `,{"role":"tool","tool_call_id":"c","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]`,
			[]task.Message{{Role: "user", Content: "hi"}, {Role: "tool", ToolCallID: "c", Content: "a\nb",
				Parts: json.RawMessage(`[{"type":"text","text":"a"},{"type":"text","text":"b"}]`)}}},
		{"names kept", `[{"role":"user","name":"ann","content":"hi"},{"role":"tool","tool_call_id":"c","name":"get_weather","content":"x"}]`,
			[]task.Message{{Role: "user", Name: "ann", Content: "hi"}, {Role: "tool", ToolCallID: "c", Name: "get_weather", Content: "x"}}},
		{"tool_call_id only on tool messages", `[{"role":"user","content":"hi","tool_call_id":"c"}]`,
			[]task.Message{{Role: "user", Content: "hi"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, e := decodeChat(chatWith("m", `"messages":`+c.messages))
			if e != nil {
				t.Fatalf("error %+v", e)
			}
			if !reflect.DeepEqual(got.messages, c.want) {
				t.Fatalf("messages = %+v, want %+v", got.messages, c.want)
			}
			req := task.Request{Messages: got.messages}
			if err := req.Check(task.Limits{}); err != nil {
				t.Fatalf("the router refuses the messages: %v", err)
			}
		})
	}
}

func TestChatToolErrors(t *testing.T) {
	msgs := `"messages":[` + userHi + `]`
	tools := `,"tools":` + toolsJSON
	cases := []struct {
		name, model, fields, code, param string
	}{
		{"tools not an array", "m", msgs + `,"tools":{"type":"function"}`, "invalid_type", "tools"},
		{"tool_choice a number", "m", msgs + tools + `,"tool_choice":1`, "invalid_type", "tool_choice"},
		{"parallel_tool_calls a string", "m", msgs + tools + `,"parallel_tool_calls":"yes"`, "invalid_type", "parallel_tool_calls"},
		{"a tool without a name", "m", msgs + `,"tools":[{"type":"function","function":{}}]`, "invalid_value", "tools"},
		{"a tool of another type", "m", msgs + `,"tools":[{"type":"code_interpreter"}]`, "invalid_value", "tools"},
		{"unknown tool_choice", "m", msgs + tools + `,"tool_choice":"always"`, "invalid_value", "tool_choice"},
		{"tool_choice naming no tool", "m", msgs + tools + `,"tool_choice":{"type":"function","function":{"name":"nope"}}`, "invalid_value", "tool_choice"},
		{"taskrouter with tools", ModelTaskrouter, msgs + tools, "tools_need_model", "tools"},
		{"taskrouter with tools it must call", ModelTaskrouter, msgs + tools + `,"tool_choice":"required"`, "tools_need_model", "tools"},
		{"functions", "m", msgs + `,"functions":[{"name":"f"}]`, "unsupported_functions", "functions"},
		{"functions with function_call", "m", msgs + `,"function_call":"auto","functions":[{"name":"f"}]`, "unsupported_functions", "functions"},
		{"function_call alone", "m", msgs + `,"function_call":"none"`, "unsupported_functions", "function_call"},
		{"tool message without tool_call_id", "m", `"messages":[` + userHi + `,{"role":"tool","content":"x"}]`, "missing_tool_call_id", "messages[1].tool_call_id"},
		{"tool message with an empty tool_call_id", "m", `"messages":[` + userHi + `,{"role":"tool","tool_call_id":"","content":"x"}]`, "missing_tool_call_id", "messages[1].tool_call_id"},
		{"tool_call_id not a string", "m", `"messages":[` + userHi + `,{"role":"tool","tool_call_id":7,"content":"x"}]`, "missing_tool_call_id", "messages[1].tool_call_id"},
		{"tool_calls not an array", "m", `"messages":[` + userHi + `,{"role":"assistant","tool_calls":{"id":"c"}}]`, "invalid_type", "messages[1].tool_calls"},
		{"a tool call without an id", "m", `"messages":[` + userHi + `,{"role":"assistant","tool_calls":[` +
			`{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}},{"type":"function","function":{"name":"f"}}]}]`, "invalid_value", "messages[1].tool_calls[1]"},
		{"tool_calls on a user message", "m", `"messages":[{"role":"user","content":"hi","tool_calls":` + callsJSON + `}]`, "invalid_value", "messages[0].tool_calls"},
		{"name not a string", "m", `"messages":[{"role":"user","content":"hi","name":1}]`, "invalid_type", "messages[0].name"},
		{"only tool results, no user text", "m", `"messages":[{"role":"assistant","tool_calls":` + callsJSON + `},{"role":"tool","tool_call_id":"call_1","content":"x"}]`,
			"missing_user_message", "messages"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, e := decodeChat(chatWith(c.model, c.fields))
			if e == nil {
				t.Fatal("accepted")
			}
			if e.Status != 400 || e.Code == nil || *e.Code != c.code || e.Param == nil || *e.Param != c.param || e.Type != typeInvalidRequest {
				t.Fatalf("error %+v (code %v, param %v), want code %s, param %s", e, deref(e.Code), deref(e.Param), c.code, c.param)
			}
		})
	}
}
