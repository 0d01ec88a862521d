package httpapi_test

import (
	"strings"
	"testing"
)

// limits.max_input_bytes bounds the whole conversation, on chat (plain and
// streamed) and jobs alike: ten messages each under the limit are refused
// together, and nothing reaches the upstream.
func TestConversationOverTheInputLimitIsRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	var msgs []string
	for i := range 10 {
		role := "user"
		if i%2 == 1 {
			role = "assistant"
		}
		msgs = append(msgs, role, strings.Repeat("x", 30_000)) // 300 kB over a 256 KiB limit
	}
	msgs = append(msgs, "user", "and now?")
	for _, stream := range []bool{false, true} {
		got := wantError(t, e.do("POST", "/v1/chat/completions", "", chatBody("gpt-test", stream, msgs...)), 400, "invalid_request")
		if !strings.Contains(got.Error.Message, "the conversation is 300008 bytes") || !strings.Contains(got.Error.Message, "limit of 262144") {
			t.Errorf("stream %v: %q", stream, got.Error.Message)
		}
	}
	job := chatBody("gpt-test", false, msgs...)
	got := wantError(t, e.do("POST", "/v1/jobs", "", job), 400, "invalid_request")
	if !strings.Contains(got.Error.Message, "the conversation is 300008 bytes") {
		t.Errorf("job: %q", got.Error.Message)
	}
	if n := e.upstream.Calls("gpt-test"); n != 0 {
		t.Errorf("the upstream got %d calls", n)
	}
}
