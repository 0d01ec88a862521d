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
