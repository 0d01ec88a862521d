package router

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

func TestDecodeReplyMatchesEncodingJSON(t *testing.T) {
	replies := []task.Reply{
		{Type: task.ReplyAccepted, Executor: "e1"},
		{Type: task.ReplyProgress, Executor: "e1", Delta: "tok\"en\n"},
		{Type: task.ReplyProgress, Executor: "e1", Delta: "hi", Chunk: json.RawMessage(`{"id":"c","choices":[{"index":0,"delta":{"content":"hi"},"logprobs":{"content":[]}}]}`)},
		{Type: task.ReplyResult, Executor: "e1", Output: &task.Output{Text: "a", Body: json.RawMessage(`{"id":"x","system_fingerprint":"fp","choices":[{"message":{"content":"a"}}]}`)}},
		{Type: task.ReplyResult, Executor: "e1", Output: &task.Output{Text: "héllo", Format: "json",
			Usage: task.Usage{PromptTokens: 3, CompletionTokens: 4, CostUSD: 0.25}}},
		{Type: task.ReplyError, Executor: "e2", Error: &task.Error{Code: task.CodeRateLimited, Message: "slow down",
			Subtask: "t1", Retryable: true, RetryAfterMs: 1500}},
	}
	for _, want := range replies {
		data, _ := json.Marshal(want)
		got, err := decodeReply(data)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("decodeReply(%s) = %+v, %v; want %+v", data, got, err, want)
		}
	}
}

func FuzzDecodeReply(f *testing.F) {
	data, _ := json.Marshal(task.Reply{Type: task.ReplyResult, Output: &task.Output{Text: "x"}})
	f.Add(data)
	f.Add([]byte(`{"type":"error","error":{"code":"upstream","retryable":true}}`))
	f.Add([]byte(`{"type":`))
	f.Add([]byte(`{"type":"progress","delta":"a","chunk":{"choices":[{"delta":{"content":"a"}}]}}`))
	f.Add([]byte(`{"type":"result","output":{"text":"","body":{"object":"list","data":[{"embedding":[0.1]}]}}}`))
	f.Add([]byte(`{"type":"progress","chunk":null,"output":{"body":null}}`))
	f.Add([]byte(`{"type":"progress","chunk":` + strings.Repeat("[", 300) + `}`))
	f.Add([]byte(strings.Repeat("[", 200)))
	f.Add([]byte(`{"type":"result","output":{"text":"made","artifacts":[{"id":"art_0123456789abcdef0123456789abcdef","mime":"image/png","size":12,"sha256":"ab","name":"a.png"},{"id":7}]}}`))
	f.Add([]byte(`{"type":"result","output":{"artifacts":{"id":"x"}}}`))
	f.Add([]byte(`{"type":"result","output":{"text":"x","tool_calls":[` + strings.Repeat(`{"a":`, 150) + `1` + strings.Repeat("}", 150) + `]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = decodeReply(data) // must not panic on anything
		// Whatever encoding/json makes of the input, its canonical form
		// (what executors send) must decode to the same reply, unless it
		// nests deeper than the bound, which encoding/json reads.
		var want task.Reply
		if json.Unmarshal(data, &want) != nil {
			return
		}
		if want.Output != nil && len(want.Output.Artifacts) == 0 {
			want.Output.Artifacts = nil // an empty list is not sent
		}
		canonical, _ := json.Marshal(want)
		if task.CheckJSONDepth(canonical, task.MaxWireJSONDepth) != nil {
			if _, err := decodeReply(canonical); err == nil {
				t.Fatalf("a reply nested too deep was decoded: %.80s", canonical)
			}
			return
		}
		got, err := decodeReply(canonical)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("decodeReply(%s) = %+v, %v; want %+v", canonical, got, err, want)
		}
	})
}

// BenchmarkDecodeReply decodes a result that lists a produced artifact;
// BenchmarkDecodeReplyStdlib is encoding/json on the same bytes.
func BenchmarkDecodeReply(b *testing.B) {
	data := benchReply()
	for b.Loop() {
		if _, err := decodeReply(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeReplyStdlib(b *testing.B) {
	data := benchReply()
	for b.Loop() {
		var r task.Reply
		if err := json.Unmarshal(data, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func benchReply() []byte {
	data, _ := json.Marshal(task.Reply{Type: task.ReplyResult, Executor: "host-1-abcdef", Output: &task.Output{Text: "photo.png: grayscale, now 128×96 PNG",
		Format: "text", Usage: task.Usage{PromptTokens: 12, CompletionTokens: 9},
		Artifacts: []task.ArtifactRef{{ID: "art_0123456789abcdef0123456789abcdef", MIME: "image/png", Size: 4567, SHA256: strings.Repeat("ab", 32), Name: "photo-edited.png"}}}})
	return data
}

// TestDecodeReplyChunkIsThePartOfTheMessage checks that a streamed chunk
// is read in place, byte for byte, and that appending to it cannot write
// over the rest of the message.
func TestDecodeReplyChunkIsThePartOfTheMessage(t *testing.T) {
	data := []byte(`{"type":"progress","executor":"e1","delta":"Hi","chunk":{"id":"c","choices":[{"delta":{"content":"Hi"}}]},"x":1}`)
	rep, err := decodeReply(data)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"c","choices":[{"delta":{"content":"Hi"}}]}`
	if string(rep.Chunk) != want || rep.Delta != "Hi" || rep.Executor != "e1" {
		t.Fatalf("decodeReply = %+v, chunk %s", rep, rep.Chunk)
	}
	_ = append(rep.Chunk, 'X')
	if !strings.HasSuffix(string(data), `"Hi"}}]},"x":1}`) {
		t.Fatalf("appending to the chunk wrote over the message: %s", data)
	}
}
