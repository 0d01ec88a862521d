package openai

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func FuzzReadEvents(f *testing.F) {
	for _, s := range []string{
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"finish_reason\":null}]}\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n",
		"data:{\"choices\":[{\"text\":\"a\",\"finish_reason\":\"stop\"}]}\r\n\r\n",
		": comment\nevent: x\nid: 3\ndata: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}\n\n",
		"data: {\"error\":\"flat\"}\n\n",
		"data: [DONE]\n\n",
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"cut",
		"<html>\n</html>\n",
		"data: " + strings.Repeat("[", 200) + "\n\n",
		"data: {\"choices\":\r[{\"index\":0,\"delta\":{\"content\":\"x\"},\"finish_reason\":\"stop\"}]}\n\n",
	} {
		f.Add([]byte(s))
	}
	m := &Model{idle: time.Minute}
	f.Fuzz(func(t *testing.T, stream []byte) {
		idle := time.NewTimer(time.Hour)
		defer idle.Stop()
		var deltas strings.Builder
		a, err := m.readEvents(bufio.NewReader(bytes.NewReader(stream)), idle, func(raw []byte, delta string) {
			if !json.Valid(raw) {
				t.Fatalf("forwarded a chunk that is not JSON: %q", raw)
			}
			if bytes.ContainsAny(raw, "\r\n") {
				t.Fatalf("forwarded a chunk with a line break: %q", raw)
			}
			deltas.WriteString(delta)
		})
		if err == nil && a.text != deltas.String() {
			t.Fatalf("the answer %q is not its deltas %q", a.text, deltas.String())
		}
	})
}

// A chunk longer than the buffer a stream is read through arrives whole.
func TestReadEventsLongerThanTheBuffer(t *testing.T) {
	long := strings.Repeat("word ", 3*streamReadBuffer)
	chunk, _ := json.Marshal(map[string]any{"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": long}, "finish_reason": "stop"}}})
	stream := "data: " + string(chunk) + "\n\ndata: [DONE]\n\n"
	idle := time.NewTimer(time.Hour)
	defer idle.Stop()
	var got [][]byte
	m := &Model{idle: time.Minute}
	a, err := m.readEvents(bufio.NewReaderSize(strings.NewReader(stream), streamReadBuffer), idle, func(raw []byte, _ string) {
		got = append(got, bytes.Clone(raw))
	})
	if err != nil || a.text != long {
		t.Fatalf("answer of %d bytes, want %d; err %v", len(a.text), len(long), err)
	}
	if len(got) != 1 || !bytes.Equal(got[0], chunk) {
		t.Fatalf("forwarded %d chunks, want the one of %d bytes", len(got), len(chunk))
	}
}

// Lines that fit the buffer, read in place, and longer ones, read in
// parts, follow each other: each chunk goes on whole, as it came.
func TestReadEventsShortAndLongLinesInTurn(t *testing.T) {
	var stream strings.Builder
	var want [][]byte
	var text string
	for i, n := range []int{1, 3 * streamReadBuffer, 2, streamReadBuffer, 3, 2 * streamReadBuffer, 4} {
		content := strings.Repeat(string(rune('a'+i)), n)
		chunk, _ := json.Marshal(map[string]any{"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": content}}}})
		stream.WriteString("data: " + string(chunk) + "\r\n\r\n")
		want, text = append(want, chunk), text+content
	}
	last := []byte(`{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`)
	stream.WriteString("data: " + string(last) + "\n\ndata: [DONE]\n\n")
	want = append(want, last)
	idle := time.NewTimer(time.Hour)
	defer idle.Stop()
	var got [][]byte
	m := &Model{idle: time.Minute}
	a, err := m.readEvents(bufio.NewReaderSize(strings.NewReader(stream.String()), streamReadBuffer), idle, func(raw []byte, _ string) {
		got = append(got, bytes.Clone(raw))
	})
	if err != nil || a.text != text {
		t.Fatalf("answer of %d bytes, want %d; err %v", len(a.text), len(text), err)
	}
	if len(got) != len(want) {
		t.Fatalf("forwarded %d chunks, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("chunk %d = %q, want %q", i, got[i], want[i])
		}
	}
}
