package openai

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

func TestCodeFor(t *testing.T) {
	m := &Model{spec: task.ModelSpec{Name: "m", BaseURL: "http://h/v1"}, upstream: "m", secret: secret{key: testKey, env: "K"}}
	for _, tc := range []struct {
		f    failure
		want task.Code
	}{
		{failure{status: 400, code: "context_length_exceeded"}, task.CodeContextLength},
		{failure{status: 0, code: "context_length_exceeded"}, task.CodeContextLength},
		{failure{status: 413}, task.CodeContextLength},
		{failure{status: 429, code: "insufficient_quota", typ: "insufficient_quota"}, task.CodeAuth},
		{failure{status: 402}, task.CodeAuth},
		{failure{status: 429}, task.CodeRateLimited},
		{failure{status: 0, code: "rate_limit_exceeded"}, task.CodeRateLimited},
		{failure{status: 401}, task.CodeAuth},
		{failure{status: 403}, task.CodeAuth},
		{failure{status: 404, code: "model_not_found"}, task.CodeNotFound},
		{failure{status: 408}, task.CodeUpstream},
		{failure{status: 409}, task.CodeUpstream},
		{failure{status: 500}, task.CodeUpstream},
		{failure{status: 502}, task.CodeUpstream},
		{failure{status: 503}, task.CodeUpstream},
		{failure{status: 400}, task.CodeBadInput},
		{failure{status: 422}, task.CodeBadInput},
		{failure{status: 0, typ: "server_error"}, task.CodeUpstream},
		{failure{status: 0, typ: "invalid_request_error"}, task.CodeBadInput},
		{failure{status: 0}, task.CodeUpstream},
	} {
		if got, advice := m.codeFor(tc.f); got != tc.want || advice == "" {
			t.Errorf("%+v: %s (%q), want %s", tc.f, got, advice, tc.want)
		}
	}
}

// rawServer answers every request with the given handler, for wire shapes
// the scripted test server does not produce.
func rawServer(t *testing.T, h http.HandlerFunc) task.ModelSpec {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return task.ModelSpec{Name: "raw", BaseURL: s.URL + "/v1", APIKeyEnv: "TEST_OPENAI_KEY"}
}

func sse(w http.ResponseWriter, lines ...string) {
	w.Header().Set("Content-Type", "text/event-stream")
	for _, l := range lines {
		_, _ = io.WriteString(w, l+"\n\n")
	}
}

func TestClassifyWireShapes(t *testing.T) {
	const chunk = `data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}`
	for _, tc := range []struct {
		name         string
		h            http.HandlerFunc
		code         task.Code
		retryable    bool
		retryAfterMs int64
	}{
		{"502 with an HTML body", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(502)
			_, _ = io.WriteString(w, "<html>bad gateway "+testKey+"</html>")
		}, task.CodeUpstream, true, 0},
		{"503 with retry-after-ms", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("retry-after-ms", "1500")
			w.WriteHeader(503)
			_, _ = io.WriteString(w, `{"error":{"message":"overloaded","type":"server_error","param":null,"code":null}}`)
		}, task.CodeUpstream, true, 1500},
		{"429 with an HTTP date", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
			w.WriteHeader(429)
			_, _ = io.WriteString(w, `{"error":{"message":"slow down","type":"requests","param":null,"code":"rate_limit_exceeded"}}`)
		}, task.CodeRateLimited, true, -1},
		{"insufficient quota", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(429)
			_, _ = io.WriteString(w, `{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`)
		}, task.CodeAuth, false, 0},
		{"numeric error code", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(400)
			_, _ = io.WriteString(w, `{"error":{"message":"bad","type":"invalid_request_error","code":400}}`)
		}, task.CodeBadInput, false, 0},
		{"error inside the stream", func(w http.ResponseWriter, r *http.Request) {
			sse(w, chunk, `data: {"error":{"message":"context too long","type":"invalid_request_error","code":"context_length_exceeded"}}`)
		}, task.CodeContextLength, false, 0},
		{"server error inside the stream", func(w http.ResponseWriter, r *http.Request) {
			sse(w, chunk, `data: {"error":{"message":"boom","type":"server_error","code":null}}`)
		}, task.CodeUpstream, true, 0},
		{"clean end without finish", func(w http.ResponseWriter, r *http.Request) { sse(w, chunk) }, task.CodeUpstream, true, 0},
		{"not an event stream", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "<html>login page</html>\n")
		}, task.CodeUpstream, true, 0},
	} {
		// The same failures are classified the same when the caller's own
		// body is relayed.
		relayed := task.Work{Capability: "chat", Input: "hi", Body: []byte(`{"model":"raw","stream":true,"messages":[{"role":"user","content":"hi"}]}`)}
		for mode, w := range map[string]task.Work{"generate": {Capability: "chat", Input: "hi"}, "relay": relayed} {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				m := newModel(t, rawServer(t, tc.h), testKey)
				_, err := m.Generate(context.Background(), w, stream)
				e := asTaskError(t, err)
				want := tc.retryAfterMs
				if want < 0 { // an HTTP date: about an hour, whatever the clock did
					if e.RetryAfterMs < 3500_000 || e.RetryAfterMs > 3600_000 {
						t.Fatalf("retry after %dms from an HTTP date an hour ahead", e.RetryAfterMs)
					}
					want = e.RetryAfterMs
				}
				checkError(t, err, tc.code, tc.retryable, want)
				if strings.Contains(e.Message, testKey) {
					t.Fatalf("the key leaked: %s", e.Message)
				}
			})
		}
	}
}

func TestFinishedWithoutDone(t *testing.T) {
	spec := rawServer(t, func(w http.ResponseWriter, r *http.Request) {
		sse(w, `data: {"id":"c","choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":null}]}`,
			`: keep-alive comment`,
			`data: {"id":"c","choices":[{"index":1,"delta":{"content":"other choice"},"finish_reason":null}]}`,
			`data: {"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`)
	})
	out, err := newModel(t, spec, testKey).Generate(context.Background(), task.Work{Capability: "chat", Input: "hi"}, stream)
	if err != nil || out.Text != "ok" {
		t.Fatalf("%q, %v", out.Text, err)
	}
	if out.Usage.PromptTokens == 0 || out.Usage.CompletionTokens != 1 {
		t.Fatalf("estimated usage %+v", out.Usage)
	}
}

func FuzzClean(f *testing.F) {
	for _, s := range []string{"", "Incorrect API key provided: " + testKey, strings.Repeat("é", 400), "a\n\tb  c", testKey[:10] + testKey} {
		f.Add(s)
	}
	s := secret{key: testKey, env: "K"}
	f.Fuzz(func(t *testing.T, text string) {
		got := s.clean(text)
		if strings.Contains(got, testKey) {
			t.Fatalf("clean(%q) = %q keeps the key", text, got)
		}
		if len(got) > maxUpstreamMessage+len("...") {
			t.Fatalf("clean kept %d bytes", len(got))
		}
		if strings.ContainsAny(got, "\n\t") {
			t.Fatalf("clean(%q) = %q keeps line breaks", text, got)
		}
	})
}
