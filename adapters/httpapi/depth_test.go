package httpapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/adapters/httpapi"
)

// deepBodies are issue 10's hostile bodies: 8,000,000 bytes of '[', which
// killed serve in decodeChat, the same depth of objects, and a valid
// request whose response_format nests 200 levels deep.
var deepBodies = map[string]string{
	"8 MB of [":            strings.Repeat("[", 8_000_000),
	`{"a": repeated`:       strings.Repeat(`{"a":`, 1_600_000),
	"deep response_format": `{"model":"gpt-test","input":"x","messages":[{"role":"user","content":"x"}],"response_format":` + strings.Repeat(`{"a":`, 200) + `1` + strings.Repeat("}", 200) + `}`,
}

func TestDeepBodiesGetJSONTooDeep(t *testing.T) {
	e := newEnv(t, envOptions{cfg: httpapi.Config{MaxBodyBytes: 8 << 20}})
	for name, body := range deepBodies {
		for _, path := range []string{"/v1/chat/completions", "/v1/jobs"} {
			resp := e.do("POST", path, "", body)
			got := wantError(t, resp, 400, "json_too_deep")
			if got.Error.Type != "invalid_request_error" || !strings.Contains(got.Error.Message, "nested more than 128 levels deep") {
				t.Errorf("%s to %s: %+v", name, path, got.Error)
			}
		}
	}
	// The server is still up and answers a normal request.
	ok := e.do("POST", "/v1/chat/completions", "", `{"model":"gpt-test","messages":[{"role":"user","content":"hi"}]}`)
	if ok.StatusCode != 200 {
		t.Fatalf("a normal request after the deep ones: %d %s", ok.StatusCode, readAll(ok))
	}
}

// A webhook payload is any JSON, run as the hook's input: one nested too
// deep is refused instead of becoming text for a model.
func TestDeepWebhookPayloadGetsJSONTooDeep(t *testing.T) {
	e, secret, _ := hookEnv(t)
	for i, body := range []string{strings.Repeat("[", 4_000_000), `{"event":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`} {
		resp := postHook(t, e, "issues", signed(secret, "msg_deep_"+string(rune('a'+i)), time.Now(), body), body)
		got := wantError(t, resp, 400, "json_too_deep")
		if !strings.Contains(got.Error.Message, "nested more than 128 levels deep") {
			t.Errorf("payload %d: %+v", i, got.Error)
		}
	}
}
