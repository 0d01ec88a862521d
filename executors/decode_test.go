package executors

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

func TestDecodeWorkMatchesEncodingJSON(t *testing.T) {
	w := task.Work{RequestID: "req_1", SubtaskID: "t2", Attempt: 3, Model: "local/x", Capability: "translate",
		Input: "héllo \"quoted\" \\ {{t1}}\n", Args: map[string]string{"target_lang": "fr", "n": "3"},
		Context:  []task.Message{{Role: "user", Content: "hi"}, {Role: "assistant", Content: "yo"}},
		Deadline: time.Date(2026, 11, 28, 12, 0, 0, 123456789, time.UTC), Stream: true}
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
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeWork(data)
		var want task.Work
		stdErr := json.Unmarshal(data, &want)
		if err == nil && stdErr == nil && (got.Input != want.Input || got.RequestID != want.RequestID || got.Attempt != want.Attempt) {
			t.Fatalf("decodeWork = %+v, encoding/json = %+v", got, want)
		}
	})
}
