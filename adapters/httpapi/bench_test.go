package httpapi

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

// instantRunner answers at once, so the benchmark measures the handler.
type instantRunner struct{}

func (instantRunner) Handle(_ context.Context, req task.Request, onEvent func(task.Event)) task.Response {
	if onEvent != nil {
		for _, d := range []string{"Hello!", " How", " can", " I", " help?"} {
			onEvent(task.Event{Type: task.EventProgress, SubtaskID: "t1", Attempt: 1, Text: d})
		}
	}
	return task.Response{ID: req.ID, Answer: "Hello! How can I help?", Usage: task.Usage{PromptTokens: 9, CompletionTokens: 5}}
}

// BenchmarkChatHandler measures the HTTP API's own cost per chat
// completion, JSON and streamed, with a runner that answers at once and no
// network: decoding, routing, encoding and the response writer.
func BenchmarkChatHandler(b *testing.B) {
	s, err := New(Config{Runner: instantRunner{}, Models: fixedModels{{Spec: task.ModelSpec{Name: "bench/gpt", Capabilities: []string{"chat"}}}}})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		body string
	}{
		{"json", `{"model":"bench/gpt","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Say hello."}]}`},
		{"stream", `{"model":"bench/gpt","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Say hello."}]}`},
	} {
		b.Run(c.name, func(b *testing.B) {
			body := []byte(c.body)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body))
				s.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}
