package openai

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

func TestSystemMessage(t *testing.T) {
	for _, tc := range []struct {
		capability string
		args       map[string]string
		want       string
	}{
		{"translate", map[string]string{"target_lang": "fr"}, "Translate the user's text into French. Reply with the translation only."},
		{"translate", map[string]string{"target_lang": "Klingon", "source_lang": "zh"}, "Translate the user's text from Chinese into Klingon. Reply with the translation only."},
		{"translate", nil, "Translate the user's text into English. Reply with the translation only."},
		{"classify", map[string]string{"labels": "spam, ham"}, "Classify the user's text as one of: spam, ham. Reply with the label only."},
		{"summarize", map[string]string{"max_words": "50", "style": "bullet\npoints"}, "Summarize the user's text. Reply with the summary only. Parameters: max_words=50, style=bullet points."},
		{"ocr_receipt", nil, `Do the task "ocr_receipt" on the user's text. Reply with the result only.`},
	} {
		if got := SystemMessage(tc.capability, tc.args); got != tc.want {
			t.Errorf("SystemMessage(%q, %v) =\n%q, want\n%q", tc.capability, tc.args, got, tc.want)
		}
	}
	long := SystemMessage("chat", map[string]string{"note": strings.Repeat("x", 1000)})
	if len(long) > 400 {
		t.Errorf("an argument of 1000 bytes made a %d-byte instruction", len(long))
	}
}

func TestMessagesRoles(t *testing.T) {
	msgs, err := Messages(task.Work{Capability: "chat", Input: "now", Context: []task.Message{
		{Role: "system", Content: "s"}, {Role: "assistant", Content: "a"}, {Role: "tool", Content: "t"}, {Role: "", Content: "u"},
		{Role: "tool", Content: "r", ToolCallID: "call_1"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var roles []string
	for _, m := range msgs {
		roles = append(roles, m.Role)
	}
	// A tool message that names no call has nothing to answer, so it
	// goes as the user's words, as it did before tool calls existed.
	if got := strings.Join(roles, ","); got != "system,system,assistant,user,user,tool,user" {
		t.Fatalf("roles %s", got)
	}
	if msgs[len(msgs)-1].Content != "now" || msgs[5].ToolCallID != "call_1" {
		t.Fatalf("messages %+v", msgs)
	}
}

func TestMessagesAfterInput(t *testing.T) {
	calls := `[{"id":"call_a","function":{"name":"f","arguments":"{\"x\":1}"}}]`
	msgs, err := Messages(task.Work{Capability: "chat", Input: "now",
		Context: []task.Message{{Role: "user", Content: "before", Name: "ann"}},
		After: []task.Message{
			{Role: "assistant", ToolCalls: json.RawMessage(calls)},
			{Role: "tool", ToolCallID: "call_a", Content: "42"},
			{Role: "user", Content: "and?", ToolCallID: "ignored"},
		}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(msgs[1:])
	if err != nil {
		t.Fatal(err)
	}
	// The assistant's call goes without content, with the type OpenAI
	// requires and the caller left out.
	want := `[{"role":"user","content":"before","name":"ann"},{"role":"user","content":"now"},` +
		`{"role":"assistant","tool_calls":[{"id":"call_a","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}}]},` +
		`{"role":"tool","content":"42","tool_call_id":"call_a"},{"role":"user","content":"and?"}]`
	if string(got) != want {
		t.Fatalf("messages\n%s\nwant\n%s", got, want)
	}
	_, err = Messages(task.Work{Input: "x", After: []task.Message{{Role: "assistant", ToolCalls: json.RawMessage(`[{"function":{"arguments":{}}}]`)}}})
	if e := task.AsError(err); e.Code != task.CodeInvalidRequest || !strings.Contains(e.Message, "after[0]") {
		t.Fatalf("error %v, want invalid_request naming after[0]", err)
	}
}
