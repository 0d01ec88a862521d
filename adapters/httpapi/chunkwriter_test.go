package httpapi

import (
	"net/http/httptest"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

// TestChunkWriterHoldsNoBufferBetweenChunks checks that a stream writes
// each chunk whole, and holds no buffer while it waits for the next: a
// thousand open streams would hold a thousand.
func TestChunkWriterHoldsNoBufferBetweenChunks(t *testing.T) {
	rec := httptest.NewRecorder()
	sw := newChunkWriter(rec, completion{id: "chatcmpl-1", created: 1, model: "m"}, false)
	sw.relay([]byte(`{"id":"up","model":"gpt-4o","choices":[{"index":0,"delta":{"content":"Hi"}}]}`), "openai/gpt-4o")
	if !sw.flush() {
		t.Fatal("flush failed")
	}
	if sw.buf != nil || sw.lent != nil {
		t.Fatalf("the writer holds a buffer after the flush: cap %d", cap(sw.buf))
	}
	sw.comment("keep-alive")
	sw.finish(task.Response{Answer: "Hi"}, &forwarder{relayed: true, attempt: 1})
	if sw.buf != nil || sw.lent != nil {
		t.Fatal("the writer holds a buffer after the end")
	}
	want := `data: {"id":"up","model":"openai/gpt-4o","choices":[{"index":0,"delta":{"content":"Hi"}}]}` + "\n\n" +
		": keep-alive\n\n"
	if got := rec.Body.String(); got[:len(want)] != want {
		t.Fatalf("body = %q, want it to start %q", got, want)
	}
}
