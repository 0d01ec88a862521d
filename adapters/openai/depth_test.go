package openai

import (
	"context"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/task"
)

// An upstream answering with 8 MB of '[' (issue 10) gets a retryable
// upstream error that says why, in a stream (where gjson's validator
// overflowed the stack) and in a plain answer (where encoding/json would
// read 10,000 levels before failing).
func TestDeepJSONAnswers(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	s.Script("deep", openaitest.Behaviour{Fail: openaitest.FailDeepJSON, Reply: "never seen"})
	s.Script("deep-late", openaitest.Behaviour{Fail: openaitest.FailDeepJSON, ChunksBeforeFailure: 2, Reply: "a b c d"})
	for _, tc := range []struct {
		name, model string
		progress    func(string)
		where       string
	}{
		{"plain", "deep", nil, "of the answer"},
		{"stream", "deep", stream, "of a stream chunk"},
		{"mid-stream", "deep-late", stream, "of a stream chunk"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newModel(t, testSpec(s, tc.model), testKey).Generate(context.Background(), task.Work{Capability: "chat", Input: "hi"}, tc.progress)
			checkError(t, err, task.CodeUpstream, true, 0)
			for _, want := range []string{"nested more than 128 levels deep", tc.where, "OpenAI-compatible"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}

func TestCollectorRefusesDeepChunk(t *testing.T) {
	var col collector
	for _, raw := range []string{strings.Repeat("[", 8_000_000), strings.Repeat(`{"a":`, 1_600_000)} {
		if _, err := col.add([]byte(raw)); err == nil || !strings.Contains(err.Error(), "level 129 opens at byte") {
			t.Fatalf("add(%.10s...) = %v", raw, err)
		}
	}
}
