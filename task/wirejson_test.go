package task

import (
	"bytes"
	"encoding/base32"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// sameAsMarshal fails when enc's output or error differs from
// json.Marshal's for v.
func sameAsMarshal(t *testing.T, v any, enc func([]byte) ([]byte, error)) {
	t.Helper()
	want, wantErr := json.Marshal(v)
	prefix := []byte("prefix:")
	got, err := enc(append([]byte(nil), prefix...))
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("error %v, json.Marshal's %v", err, wantErr)
	}
	if wantErr != nil {
		return
	}
	if !bytes.HasPrefix(got, prefix) {
		t.Fatalf("the buffer's bytes were overwritten: %q", got)
	}
	if got = got[len(prefix):]; !bytes.Equal(got, want) {
		t.Fatalf("got\n%s\nwant (json.Marshal)\n%s", got, want)
	}
}

func TestAppendWorkIsMarshal(t *testing.T) {
	temp := 0.5
	deadline := time.Date(2026, 12, 2, 8, 30, 1, 123456789, time.FixedZone("", 3600))
	for _, w := range []Work{
		{},
		{RequestID: "req_1", SubtaskID: "t1", Attempt: 2, Model: "local/echo", Capability: "chat", Input: "hello"},
		{RequestID: "r", Input: "<b>&\"quoted\"\n\t\u2028 héllo \xff", Args: map[string]string{"b": "2", "a": "<1>"},
			Context: []Message{{Role: "user", Content: "hi"}}, Deadline: deadline, Stream: true,
			Sampling: &Sampling{Temperature: &temp}, After: []Message{{Role: "tool", Content: "42"}},
			Body: json.RawMessage(`{"model":"m", "messages":[{"role":"user","content":"a <b> & c\u2028"}]}`), API: APIChat,
			Traceparent: "00-abc-def-01", Artifacts: []ArtifactRef{{ID: "sha256-x", MIME: "image/png", Size: 3, Ref: "a1"}}},
		{RequestID: "r", Args: map[string]string{}, Context: []Message{}, Body: json.RawMessage(`{"compact":true}`)},
		{RequestID: "r", Deadline: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{RequestID: "r", Body: json.RawMessage(`{"not json"`)},
	} {
		sameAsMarshal(t, w, func(b []byte) ([]byte, error) { return AppendWork(b, w) })
	}
}

func TestAppendReplyIsMarshal(t *testing.T) {
	for _, r := range []Reply{
		{Type: ReplyAccepted, Executor: "x1"},
		{Type: ReplyAccepted, Executor: "x1", ElapsedUs: 1042},
		{Type: ReplyError, Error: Errorf(CodeCancelled, "stopped"), ElapsedUs: -3},
		{Type: ReplyProgress, Executor: "x1"},
		{Type: ReplyProgress, Executor: "x1", Delta: " two"},
		{Type: ReplyProgress, Delta: "<&>", Chunk: json.RawMessage(`{"id":"c1","choices":[{"delta":{"content":" two <i>"}}]}`)},
		{Type: ReplyProgress, Delta: "x", Chunk: json.RawMessage(`{"id":"c1","choices":[{"delta":{"content":"plain \"q\" \\ x"}}]}`)},
		{Type: ReplyProgress, Chunk: json.RawMessage(" {\"a\" : [1, 2]}\n")},
		{Type: ReplyProgress, Chunk: json.RawMessage(`{"a":"\u2028 raw ` + "\u2028" + `"}`)},
		{Type: ReplyProgress, Chunk: json.RawMessage(`{"a":`)},
		{Type: ReplyProgress, Progress: &Progress{Done: 1, Total: 3, Message: "one"}},
		{Type: ReplyResult, Output: &Output{Text: "done", Usage: Usage{PromptTokens: 3, CompletionTokens: 1}}},
		{Type: ReplyError, Error: Errorf(CodeUpstream, "the upstream said <no>")},
		{Type: ReplyResult, Output: &Output{Text: "a <b>", Format: "json", Usage: Usage{CostUSD: 1e-7, MemoryTokens: 2},
			ToolCalls: json.RawMessage(`[{"id":"c1","function":{"name":"f","arguments":"{\"a\": 1}"}}]`), FinishReason: "tool_calls",
			Body: json.RawMessage(`{"id":"x","choices":[{"message":{"content":"hi there"}}]}`), Artifacts: []ArtifactRef{{ID: "sha256-1", Ref: "t1"}}}},
		{Type: ReplyResult, Output: &Output{Body: json.RawMessage("{\n  \"id\": \"pretty\"\n}")}, ElapsedUs: 17},
		{Type: ReplyResult, Output: &Output{ToolCalls: json.RawMessage(`[`)}},
	} {
		sameAsMarshal(t, r, func(b []byte) ([]byte, error) { return AppendReply(b, r) })
	}
}

// FuzzAppendReply checks the reply encoder against json.Marshal with any
// text and any chunk bytes, as an upstream may send them.
func FuzzAppendReply(f *testing.F) {
	f.Add("x1", " two", []byte(`{"choices":[{"delta":{"content":" two"}}]}`))
	f.Add("", "<&>\u2028\xff", []byte(` {"a" : "b\"<"} `))
	f.Add("e", "", []byte(`{"a":"\\"}`))
	f.Add("e", "", []byte(`"\u2028"`))
	f.Fuzz(func(t *testing.T, executor, delta string, chunk []byte) {
		r := Reply{Type: ReplyProgress, Executor: executor, Delta: delta, Chunk: chunk}
		sameAsMarshal(t, r, func(b []byte) ([]byte, error) { return AppendReply(b, r) })
		r = Reply{Type: ReplyResult, Executor: executor, Output: &Output{Text: delta, Body: chunk}}
		sameAsMarshal(t, r, func(b []byte) ([]byte, error) { return AppendReply(b, r) })
	})
}

// FuzzAppendWork checks the work encoder against json.Marshal.
func FuzzAppendWork(f *testing.F) {
	f.Add("req_1", "t1", "hello", "k", "<v>", []byte(`{"model":"m"}`), int64(1764664201123456789))
	f.Add("", "", "\xff\u2028\"", "", "", []byte(` [1, 2] `), int64(0))
	f.Fuzz(func(t *testing.T, id, sub, input, k, v string, body []byte, ns int64) {
		w := Work{RequestID: id, SubtaskID: sub, Input: input, Args: map[string]string{k: v}, Body: body}
		if ns != 0 {
			w.Deadline = time.Unix(0, ns).UTC()
		}
		sameAsMarshal(t, w, func(b []byte) ([]byte, error) { return AppendWork(b, w) })
	})
}

// An id reads as before: the prefix, then 15 random bytes in lower-case
// base32 without padding.
func TestNewIDIsLowerBase32(t *testing.T) {
	id := NewID("req_")
	raw, ok := strings.CutPrefix(id, "req_")
	if !ok || len(raw) != 24 || raw != strings.ToLower(raw) {
		t.Fatalf("id %q", id)
	}
	b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(raw))
	if err != nil || len(b) != 15 {
		t.Fatalf("id %q does not decode: %v", id, err)
	}
	if again := idEncoding.EncodeToString(b); again != raw {
		t.Fatalf("%q encodes to %q", b, again)
	}
	if NewID("req_") == id {
		t.Fatal("two ids are the same")
	}
}
