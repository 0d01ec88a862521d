package router_test

import (
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/adapters/openai"
	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/task"
)

// travelVector is a scripted embedding model's idea of meaning: texts
// about travel point one way, others another.
func travelVector(text string) []float32 {
	for _, w := range []string{"trip", "flying", "lisbon", "flight"} {
		if strings.Contains(strings.ToLower(text), w) {
			return []float32{1, 0.1, 0}
		}
	}
	return []float32{0, 0.1, 1}
}

// With a model of capability embed served, memory recalls by meaning
// through it, over OpenAI's embeddings API: "my trip" finds the turn
// about flying to Lisbon, which shares no term with it.
func TestRecallByMeaningThroughAnEmbeddingModel(t *testing.T) {
	e := newMemoryEnv(t, 20)
	e.up.Script("embed-1", openaitest.Behaviour{Embed: travelVector})
	spec := task.ModelSpec{Name: "embedder", Backend: task.BackendOpenAI, BaseURL: e.up.URL(), UpstreamModel: "embed-1",
		Capabilities: []string{"embed"}, Concurrency: 4}
	m, err := openai.New(spec, "")
	if err != nil {
		t.Fatal(err)
	}
	e.executor("x2", executors.Served{Spec: spec, Model: m})

	e.ask(t, "chat", "last-week", "user-42", "I'm flying to Lisbon on May 3 for a wedding.")
	e.ask(t, "chat", "last-week", "user-42", "My dentist appointment is on Tuesday.")
	e.ask(t, "chat", "today", "user-42", "What did I tell you about my trip?")
	rec, _ := e.up.Last("chat-1")
	var context string
	for _, msg := range rec.Messages {
		context += msg.Content + "\n"
	}
	if !strings.Contains(context, "Lisbon on May 3") {
		t.Fatalf("the model got no recalled turn about the trip: %+v", rec.Messages)
	}
	if strings.Contains(context, "dentist") {
		t.Errorf("an unrelated turn was recalled: %+v", rec.Messages)
	}
	if calls := e.up.Calls("embed-1"); calls < 4 {
		t.Errorf("the embedding model got %d calls, want one per recorded exchange and one per lookup", calls)
	}
}
