package task

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestToolsCheck(t *testing.T) {
	fn := `[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]`
	for _, tc := range []struct {
		functions, choice string
		wantErr           string // "" when fine
	}{
		{fn, "", ""},
		{fn, `"auto"`, ""},
		{fn, `"none"`, ""},
		{fn, `"required"`, ""},
		{fn, `{"type":"function","function":{"name":"get_weather"}}`, ""},
		{fn, `{"type":"function","function":{"name":"other"}}`, "which tools do not list"},
		{fn, `"sometimes"`, `tool_choice "sometimes"`},
		{fn, `7`, "tool_choice must be"},
		{`[]`, "", "non-empty array"},
		{`{"type":"function"}`, "", "non-empty array"},
		{`[{"type":"function","function":{"name":"has space"}}]`, "", "tools[0]"},
		{`[{"type":"code_interpreter"}]`, "", "tools[0]"},
		{`[` + strings.Repeat(`{"type":"function","function":{"name":"f"}},`, MaxTools) + `{"type":"function","function":{"name":"g"}}]`, "", "at most 128"},
	} {
		tools := &Tools{Functions: json.RawMessage(tc.functions)}
		if tc.choice != "" {
			tools.Choice = json.RawMessage(tc.choice)
		}
		err := tools.Check()
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s / %s: %v", tc.functions, tc.choice, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%.60s / %s: error %v, want one saying %q", tc.functions, tc.choice, err, tc.wantErr)
		}
	}
}

func TestRequestToolsAndConversation(t *testing.T) {
	call := json.RawMessage(`[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]`)
	r := Request{Messages: []Message{{Role: "system", Content: "be brief"}, {Role: "user", Content: "call f"},
		{Role: "assistant", ToolCalls: call}, {Role: "tool", ToolCallID: "call_1", Content: "42"}},
		Tools: &Tools{Functions: json.RawMessage(`[{"type":"function","function":{"name":"f"}}]`)}}
	if in, ctx := r.Text(); in != "call f" || len(ctx) != 1 || len(r.After()) != 2 || r.After()[1].ToolCallID != "call_1" {
		t.Fatalf("input %q, context %v, after %v", in, ctx, r.After())
	}
	if err := r.Check(DefaultLimits); err == nil || !strings.Contains(err.Error(), "tools need a model") {
		t.Fatalf("tools without a model: %v", err)
	}
	r.Model = "m"
	if err := r.Check(DefaultLimits); err != nil {
		t.Fatal(err)
	}
	r.Messages[3].ToolCallID = ""
	if err := r.Check(DefaultLimits); err == nil || !strings.Contains(err.Error(), "messages[3]") {
		t.Fatalf("a tool message without tool_call_id: %v", err)
	}
	r.Messages[3] = Message{Role: "user", Content: "x", ToolCalls: call}
	if err := r.Check(DefaultLimits); err == nil || !strings.Contains(err.Error(), "assistant") {
		t.Fatalf("tool calls on a user message: %v", err)
	}
	if (Request{Input: "x", Messages: r.Messages}).After() != nil {
		t.Fatal("a request with Input has no messages after it")
	}
}
