package openai

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/task"
)

// BenchmarkGenerate measures Generate against the test server answering at
// once, next to a baseline: the same request as a raw HTTP POST whose
// streamed body is read and discarded. The difference is the adapter's own
// cost (go-openai, chunk decoding, classification set-up).
func BenchmarkGenerate(b *testing.B) {
	s := openaitest.New()
	defer s.Close()
	s.Script("m", openaitest.Behaviour{Reply: "The quick brown fox jumps over the lazy dog."})
	m := newModel(b, testSpec(s, "m"), testKey)
	w := task.Work{Capability: "translate", Input: "Le renard brun saute par-dessus le chien paresseux.", Args: map[string]string{"target_lang": "en"}}
	if _, err := m.Generate(context.Background(), w, stream); err != nil {
		b.Fatal(err)
	}
	rec, _ := s.Last("m")

	b.Run("adapter", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.Generate(context.Background(), w, func(string) {}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("adapter_unstreamed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.Generate(context.Background(), w, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The caller's own body, relayed: the same request, sent as it came.
	relayed := task.Work{Input: w.Input, Body: []byte(`{"model":"m","messages":[{"role":"system","content":"Translate the user's text into English. Reply with the translation only."},` +
		`{"role":"user","content":"Le renard brun saute par-dessus le chien paresseux."}]}`)}
	streamed := relayed
	streamed.Body = []byte(`{"model":"m","stream":true,"stream_options":{"include_usage":true},` + string(relayed.Body[len(`{"model":"m",`):]))
	b.Run("relay", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.Relay(context.Background(), &streamed, func([]byte, string) {}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("relay_unstreamed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.Relay(context.Background(), &relayed, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw_http", func(b *testing.B) {
		b.ReportAllocs()
		client := defaultHTTPClient()
		url := s.URL() + "/chat/completions"
		for b.Loop() {
			req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(rec.Body))
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+testKey)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
