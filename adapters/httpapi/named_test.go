package httpapi_test

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/adapters/openai"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/task"
)

// deadModel is an OpenAI-compatible model whose upstream refuses
// connections, with the same capability as gpt-test.
func deadModel(t *testing.T, name string, fallbacks ...string) executors.Served {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	spec := task.ModelSpec{Name: name, Backend: task.BackendOpenAI, BaseURL: "http://" + addr + "/v1",
		Capabilities: []string{"chat"}, Concurrency: 4, Fallbacks: fallbacks}
	m, err := openai.New(spec, "sk-test")
	if err != nil {
		t.Fatal(err)
	}
	return executors.Served{Spec: spec, Model: m}
}

// A named model whose upstream is down is never answered by another model
// with the same capabilities: its failure comes back, then a 503
// model_unavailable with Retry-After while it cools down. A model whose
// configured fallback answers says so, in the body and in
// X-Taskrouter-Model, streamed or not.
func TestNamedModelIsNeverSilentlySubstituted(t *testing.T) {
	e := newEnv(t, envOptions{models: []executors.Served{deadModel(t, "dead"), deadModel(t, "rescued", "gpt-test")}})
	resp := e.do("POST", "/v1/chat/completions", "", chatBody("dead", false, "user", "hi"))
	wantError(t, resp, http.StatusBadGateway, "upstream")
	resp = e.do("POST", "/v1/chat/completions", "", chatBody("dead", false, "user", "hi"))
	ae := wantError(t, resp, http.StatusServiceUnavailable, "model_unavailable")
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 || s > 5 {
		t.Errorf("Retry-After %q, want 1 to 5 seconds (the first cooldown)", resp.Header.Get("Retry-After"))
	}
	if !strings.Contains(ae.Error.Message, `"dead"`) || !strings.Contains(ae.Error.Message, "cannot reach") {
		t.Errorf("message %q does not name the model and the failure", ae.Error.Message)
	}
	if calls := e.upstream.Calls("gpt-test"); calls != 0 {
		t.Fatalf("gpt-test answered %d requests naming dead", calls)
	}

	resp = e.do("POST", "/v1/chat/completions", "", chatBody("rescued", false, "user", "hi"))
	c := decode[completionObject](t, resp, http.StatusOK)
	if c.Model != "gpt-test" || resp.Header.Get("X-Taskrouter-Model") != "gpt-test" || c.Choices[0].Message.Content != reply {
		t.Fatalf("answered by the fallback: model %q, header %q, content %q; want gpt-test named in both", c.Model,
			resp.Header.Get("X-Taskrouter-Model"), c.Choices[0].Message.Content)
	}
	resp = e.do("POST", "/v1/chat/completions", "", chatBody("rescued", true, "user", "hi"))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Taskrouter-Model") != "gpt-test" {
		t.Fatalf("stream: status %d, X-Taskrouter-Model %q", resp.StatusCode, resp.Header.Get("X-Taskrouter-Model"))
	}
	for _, ev := range readSSE(t, resp.Body) {
		if !ev.comment && ev.data != "[DONE]" && !strings.Contains(ev.data, `"model":"gpt-test"`) {
			t.Fatalf("a chunk names another model: %s", ev.data)
		}
	}
	resp = e.do("POST", "/v1/chat/completions", "", chatBody("gpt-test", false, "user", "hi"))
	if resp.Header.Get("X-Taskrouter-Model") != "gpt-test" {
		t.Errorf("X-Taskrouter-Model %q for a model that answered itself", resp.Header.Get("X-Taskrouter-Model"))
	}
}
