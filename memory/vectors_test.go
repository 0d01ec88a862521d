package memory

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
)

// conceptEmbedder is a scripted embedding model: each word adds to the
// dimension of its concept, so texts about the same thing in different
// words get near vectors, as a real model's would.
type conceptEmbedder struct {
	calls atomic.Int64
	fail  bool
}

var concepts = map[string]int{
	"trip": 0, "flying": 0, "flight": 0, "lisbon": 0, "travel": 0, "holiday": 0, "airport": 0,
	"dentist": 1, "tooth": 1, "doctor": 1, "appointment": 1,
	"crates": 2, "dock": 2, "shipment": 2,
}

func (e *conceptEmbedder) Embed(_ context.Context, texts []string) ([][]float32, string, error) {
	e.calls.Add(1)
	if e.fail {
		return nil, "", fmt.Errorf("the embedding model is down")
	}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v := make([]float32, 4)
		v[3] = 0.05 // every text has a little of everything
		for _, w := range strings.Fields(strings.ToLower(strings.Trim(t, ".?!"))) {
			if c, ok := concepts[strings.Trim(w, ".,?!")]; ok {
				v[c]++
			}
		}
		out[i] = v
	}
	return out, "concepts-1", nil
}

// With an embedding model, a memory scope recalls a turn by its meaning:
// "my trip" finds "flying to Lisbon", which shares no word with it; by
// terms alone it is not found.
func TestRecallByMeaning(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, Config{}, func(t *testing.T, m *Memory, b Bucket) {
		e := &conceptEmbedder{}
		withVectors := m.WithEmbedder(e)
		last := Key{Owner: "k", Conversation: "last-week", Scope: "user-7"}
		exchange(t, withVectors, last, "I am flying to Lisbon on May 3.", "Noted.")
		exchange(t, withVectors, last, "My dentist appointment is on Tuesday.", "Noted.")
		now := Key{Owner: "k", Conversation: "today", Scope: "user-7"}

		s, err := withVectors.Open(ctx, now, "What did I tell you about my trip?")
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Recalled) == 0 || !strings.Contains(s.Recalled[0].Content, "Lisbon") {
			t.Fatalf("recalled %+v, want the Lisbon turn first", s.Recalled)
		}
		for _, r := range s.Recalled {
			if strings.Contains(r.Content, "dentist") {
				t.Errorf("recalled an unrelated turn: %+v", r)
			}
		}
		if e.calls.Load() < 3 {
			t.Errorf("the embedder was called %d times, want one per record and one per lookup", e.calls.Load())
		}

		s, err = m.Open(ctx, now, "What did I tell you about my trip?")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range s.Recalled {
			if strings.Contains(r.Content, "Lisbon") {
				t.Fatalf("recalled by terms alone: %+v; the test's query must share no term with the turn", r)
			}
		}
	})
}

// An embedding model that fails leaves recall by terms, and the failure
// is reported; the request's memory works as without one.
func TestRecallWhenEmbeddingFails(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, Config{}, func(t *testing.T, m *Memory, b Bucket) {
		var failures atomic.Int64
		failing, err := New(Config{Bucket: b, OnEmbedError: func(error) { failures.Add(1) }})
		if err != nil {
			t.Fatal(err)
		}
		mm := failing.WithEmbedder(&conceptEmbedder{fail: true})
		k := Key{Owner: "k", Conversation: "a", Scope: "user-8"}
		exchange(t, mm, k, "The crates arrived at dock 4.", "Noted.")
		s, err := mm.Open(ctx, Key{Owner: "k", Conversation: "b", Scope: "user-8"}, "Which dock took the crates?")
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Recalled) == 0 || !strings.Contains(s.Recalled[0].Content, "dock 4") {
			t.Fatalf("recalled %+v, want the dock turn by its terms", s.Recalled)
		}
		if failures.Load() == 0 {
			t.Error("the embedding failures were not reported")
		}
	})
}

func FuzzDecodeVector(f *testing.F) {
	f.Add(encodeVector([]float32{1, 2, 3}))
	f.Add("")
	f.Add("AAAA")
	f.Add("not base64!")
	f.Fuzz(func(t *testing.T, s string) {
		v := decodeVector(s)
		if v != nil && len(v)*4 != len(s)/4*3-strings.Count(s, "=") {
			t.Fatalf("decoded %d floats from %d base64 characters", len(v), len(s))
		}
	})
}
