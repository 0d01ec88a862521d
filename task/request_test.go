package task

import (
	"strings"
	"testing"
)

// The limit on the input bounds the whole conversation too: ten messages
// each under it may not pass together.
func TestCheckBoundsTheWholeConversation(t *testing.T) {
	lim := Limits{MaxInputBytes: 1000}
	msg := func(role string, n int) Message { return Message{Role: role, Content: strings.Repeat("a", n)} }
	var long []Message
	for range 5 {
		long = append(long, msg("user", 150), msg("assistant", 150))
	}
	cases := []struct {
		name string
		req  Request
		want string // "" when the request passes
	}{
		{"ten messages under the limit each, over it together", Request{Messages: long}, "the conversation is 1500 bytes (the input and 10 messages' content and tool calls), more than the limit of 1000"},
		{"input plus context", Request{Input: strings.Repeat("b", 600), Messages: []Message{msg("user", 500)}}, "the conversation is 1100 bytes"},
		{"tool calls count", Request{Messages: []Message{msg("user", 10), {Role: "assistant", ToolCalls: []byte(`[` + strings.Repeat(" ", 995) + `]`)}}}, "the conversation is 1007 bytes"},
		{"one input over the limit", Request{Input: strings.Repeat("b", 1001)}, "the input is 1001 bytes"},
		{"at the limit", Request{Messages: []Message{msg("assistant", 500), msg("user", 500)}}, ""},
	}
	for _, c := range cases {
		err := c.req.Check(lim)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (AsError(err) == nil || AsError(err).Code != CodeInvalidRequest || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want an invalid_request saying %q", c.name, err, c.want)
		}
	}
}

// A conversation id from any caller never panics the check, and an
// accepted one is printable, trimmed and bounded.
func FuzzCheckConversationID(f *testing.F) {
	for _, s := range []string{"t-1", "", " x", "x ", "a\nb", "中文", "\xff", strings.Repeat("a", 257)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if CheckConversationID("conversation", id) != nil {
			return
		}
		if id == "" || len(id) > MaxConversationID || strings.TrimSpace(id) != id || strings.ContainsAny(id, "\x00\n\r\t") {
			t.Fatalf("accepted %q", id)
		}
	})
}
