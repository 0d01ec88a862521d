package openai

import (
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
	msgs := Messages(task.Work{Capability: "chat", Input: "now", Context: []task.Message{
		{Role: "system", Content: "s"}, {Role: "assistant", Content: "a"}, {Role: "tool", Content: "t"}, {Role: "", Content: "u"},
	}})
	var roles []string
	for _, m := range msgs {
		roles = append(roles, m.Role)
	}
	if got := strings.Join(roles, ","); got != "system,system,assistant,user,user,user" {
		t.Fatalf("roles %s", got)
	}
	if msgs[len(msgs)-1].Content != "now" {
		t.Fatalf("last message %+v", msgs[len(msgs)-1])
	}
}
