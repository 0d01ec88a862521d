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
		Context: []task.Message{{Role: "user", Content: "hi"}, {Role: "assistant", Content: "yo"},
			{Role: "user", Content: "a\nb", Parts: json.RawMessage(`[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"u"}},{"type":"text","text":"b"}]`)}},
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
	w.Body = json.RawMessage(`{"model":"m","messages":[{"role":"user","content":"hi"}],"logprobs":true,"x_unknown":{"a":[1]}}`)
	w.API = task.APICompletions
	w.Artifacts = []task.ArtifactRef{{ID: "art_0123456789abcdef0123456789abcdef", MIME: "image/png", Size: 1234, SHA256: "0123", Name: "p.png", Ref: "a1"},
		{ID: "art_fedcba9876543210fedcba9876543210", MIME: "audio/wav", Size: 9, Ref: "t1"}}
	data, _ := json.Marshal(w)
	got, err := decodeWork(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, w) {
		t.Fatalf("decodeWork = %+v, want %+v", got, w)
	}
}

func TestDecodeWorkRefusesBadBodies(t *testing.T) {
	for _, f := range []string{`"body":[1]`, `"body":"x"`, `"api":"image"`, `"api":1`,
		`"artifacts":{"id":"art_0123456789abcdef0123456789abcdef"}`, `"artifacts":[{"id":"../etc/passwd","size":1}]`, `"artifacts":[{"id":"art_0123456789abcdef0123456789abcdef","size":"big"}]`, `"artifacts":["x"]`,
		`"context":[{"role":"user","content":[{"text":"no type"}]}]`, `"context":[{"role":"user","content":7}]`} {
		if w, err := decodeWork([]byte(`{"request_id":"r","input":"x",` + f + `}`)); err == nil {
			t.Errorf("%s was accepted: %+v", f, w)
		}
	}
}

func FuzzDecodeWork(f *testing.F) {
	data, _ := json.Marshal(task.Work{RequestID: "r", SubtaskID: "t1", Attempt: 1, Input: "x", Args: map[string]string{"a": "b"}})
	f.Add(data)
	f.Add([]byte(`{"attempt":"one"}`))
	f.Add([]byte(`{"args":{"a":1}}`))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte(`{"input":"x","body":{"model":"m","messages":[]},"api":"chat"}`))
	f.Add([]byte(`{"context":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"u"}}]}]}`))
	f.Add([]byte(`{"body":` + strings.Repeat("[", 300) + `}`))
	f.Add([]byte(strings.Repeat("[", 200)))
	f.Add([]byte(`{"input":"[image a1] make it grayscale","artifacts":[{"id":"art_0123456789abcdef0123456789abcdef","mime":"image/png","size":12,"ref":"a1"}]}`))
	f.Add([]byte(`{"artifacts":[{"id":"art_x","size":-1}]}`))
	f.Add([]byte(`{"input":"x","context":[{"role":"user","content":"x","tool_calls":` + strings.Repeat(`{"a":`, 150) + `1` + strings.Repeat("}", 150) + `}]}`))
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
			!(len(got.Context) == 0 && len(want.Context) == 0 || reflect.DeepEqual(got.Context, want.Context)) || (len(got.Body) > 0) != (len(want.Body) > 0 && string(want.Body) != "null") ||
			got.Traceparent != want.Traceparent ||
			len(got.Artifacts) > 0 && !reflect.DeepEqual(got.Artifacts, want.Artifacts)) {
			t.Fatalf("decodeWork = %+v, encoding/json = %+v", got, want)
		}
	})
}

// foldedKey reports whether a key of data, at any level, is one of the
// contract's keys written in another case ("Attempt", "Content"), which
// encoding/json accepts and the executor's decoder, like the contract,
// does not.
func foldedKey(data []byte) bool {
	names := []string{"request_id", "subtask_id", "model", "capability", "input", "attempt", "stream", "args", "context", "deadline",
		"sampling", "tools", "after", "body", "api", "artifacts", "role", "content", "type", "text", "tool_calls", "tool_call_id",
		"name", "id", "mime", "size", "sha256", "ref", "traceparent"}
	folded := false
	var walk func(v gjson.Result, depth int)
	walk = func(v gjson.Result, depth int) {
		if depth > 8 || folded {
			return
		}
		v.ForEach(func(k, e gjson.Result) bool {
			for _, name := range names {
				if k.Type == gjson.String && k.Str != name && strings.EqualFold(k.Str, name) {
					folded = true
				}
			}
			walk(e, depth+1)
			return !folded
		})
	}
	walk(gjson.ParseBytes(data), 0)
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

// A chat body at the bound, task.MaxJSONDepth, is accepted at the HTTP API
// and on tr.v1.req; the work the router makes of it carries its
// response_format one level deeper, which executors must accept too.
func TestDecodeWorkTakesWhatIngressTakes(t *testing.T) {
	// {"response_format": {"type", "json_schema": {"name", "schema": X}}}
	// nests 3 levels above X.
	schema := strings.Repeat(`{"a":`, task.MaxJSONDepth-3) + `1` + strings.Repeat("}", task.MaxJSONDepth-3)
	rf := `{"type":"json_schema","json_schema":{"name":"s","schema":` + schema + `}}`
	chat := []byte(`{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":` + rf + `}`)
	if err := task.CheckJSONDepth(chat, task.MaxJSONDepth); err != nil {
		t.Fatalf("the chat body is not at the bound: %v", err)
	}
	if err := task.CheckJSONDepth(chat, task.MaxJSONDepth-1); err == nil {
		t.Fatal("the chat body is below the bound")
	}
	data, err := json.Marshal(task.Work{RequestID: "r", SubtaskID: "t1", Input: "x", Sampling: &task.Sampling{ResponseFormat: json.RawMessage(rf)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeWork(data); err != nil {
		t.Fatalf("decodeWork refused the work of a chat body at the bound: %v", err)
	}
}

// BenchmarkDecodeWork decodes a typical dispatched subtask, one that reads
// an artifact; BenchmarkDecodeWorkStdlib is encoding/json on the same
// bytes, the baseline the hand-written decoder must stay well under.
func BenchmarkDecodeWork(b *testing.B) {
	data := benchWork()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := decodeWork(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeWorkStdlib(b *testing.B) {
	data := benchWork()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var w task.Work
		if err := json.Unmarshal(data, &w); err != nil {
			b.Fatal(err)
		}
	}
}

func benchWork() []byte {
	data, _ := json.Marshal(task.Work{RequestID: "req_abcdefghijklmnopqrstuvwx", SubtaskID: "t2", Attempt: 1, Model: "local/imageops",
		Capability: "image-edit", Input: "make [image a1] grayscale and 128 px wide", Args: map[string]string{"items": "128"},
		Deadline: time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC), Stream: true,
		Artifacts: []task.ArtifactRef{{ID: "art_0123456789abcdef0123456789abcdef", MIME: "image/png", Size: 123456, SHA256: strings.Repeat("ab", 32), Name: "photo.png", Ref: "a1"}}})
	return data
}
