package executors

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/task"
	"github.com/tidwall/gjson"
)

func TestDecodeWorkMatchesEncodingJSON(t *testing.T) {
	w := task.Work{RequestID: "req_1", SubtaskID: "t2", Attempt: 3, Model: "local/x", Capability: "translate",
		Input: "héllo \"quoted\" \\ {{t1}}\n", Args: map[string]string{"target_lang": "fr", "n": "3"},
		Context:  []task.Message{{Role: "user", Content: "hi"}, {Role: "assistant", Content: "yo"}},
		Deadline: time.Date(2026, 11, 28, 12, 0, 0, 123456789, time.UTC), Stream: true,
		Traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
	zero, seed := 0.0, int64(7)
	w.Sampling = &task.Sampling{Temperature: &zero, MaxTokens: 64, Stop: []string{"\n\n"}, Seed: &seed,
		ResponseFormat: json.RawMessage(`{"type":"json_object"}`)}
	parallel := false
	w.Tools = &task.Tools{Functions: json.RawMessage(`[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]`),
		Choice: json.RawMessage(`"auto"`), Parallel: &parallel}
	w.After = []task.Message{
		{Role: "assistant", ToolCalls: json.RawMessage(`[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]`)},
		{Role: "tool", ToolCallID: "call_1", Name: "get_weather", Content: `{"temp":21}`},
	}
	data, _ := json.Marshal(w)
	got, err := decodeWork(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, w) {
		t.Fatalf("decodeWork = %+v, want %+v", got, w)
	}
}

func FuzzDecodeWork(f *testing.F) {
	data, _ := json.Marshal(task.Work{RequestID: "r", SubtaskID: "t1", Attempt: 1, Input: "x", Args: map[string]string{"a": "b"}})
	f.Add(data)
	f.Add([]byte(`{"attempt":"one"}`))
	f.Add([]byte(`{"args":{"a":1}}`))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte(`{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01","input":"x"}`))
	f.Add([]byte(`{"traceparent":7}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeWork(data)
		var want task.Work
		stdErr := json.Unmarshal(data, &want)
		if foldedKey(data) {
			return // encoding/json matches keys in any case; the contract's keys are exact
		}
		if err == nil && stdErr == nil && (got.Input != want.Input || got.RequestID != want.RequestID || got.Attempt != want.Attempt ||
			got.Traceparent != want.Traceparent) {
			t.Fatalf("decodeWork = %+v, encoding/json = %+v", got, want)
		}
	})
}

// foldedKey reports whether a top-level key of data is one of Work's keys
// written in another case ("Attempt"), which encoding/json accepts and the
// executor's decoder, like the contract, does not.
func foldedKey(data []byte) bool {
	folded := false
	gjson.ParseBytes(data).ForEach(func(k, _ gjson.Result) bool {
		for _, name := range []string{"request_id", "subtask_id", "model", "capability", "input", "attempt", "stream", "args", "context", "deadline", "sampling", "tools", "after", "traceparent"} {
			if k.Str != name && strings.EqualFold(k.Str, name) {
				folded = true
			}
		}
		return !folded
	})
	return folded
}

// Work from any producer is checked as the router checks requests: a
// sampling setting out of range is refused before it reaches a model.
func TestDecodeWorkChecksSampling(t *testing.T) {
	for _, s := range []string{`{"temperature":3}`, `{"stop":["a","b","c","d","e"]}`, `{"response_format":{"type":"xml"}}`, `"hot"`} {
		if _, err := decodeWork([]byte(`{"request_id":"r","subtask_id":"t1","input":"x","sampling":` + s + `}`)); err == nil {
			t.Errorf("sampling %s was accepted", s)
		}
	}
	if w, err := decodeWork([]byte(`{"input":"x","sampling":null}`)); err != nil || w.Sampling != nil {
		t.Fatalf("null sampling = %+v, %v", w.Sampling, err)
	}
}
