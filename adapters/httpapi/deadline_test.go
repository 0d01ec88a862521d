package httpapi_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/adapters/httpapi"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/task"
)

// A client that stops reading a stream is dropped after the write
// timeout, and its request is cancelled at the executor: per-write
// deadlines, not a global WriteTimeout that would cut healthy streams.
func TestStalledReaderIsDroppedAndItsWorkCancelled(t *testing.T) {
	stopped := make(chan time.Duration, 1)
	firehose := funcModel(func(ctx context.Context, w task.Work, progress func(string)) (task.Output, error) {
		start := time.Now()
		chunk := strings.Repeat("x", 32<<10)
		for time.Since(start) < 20*time.Second {
			select {
			case <-ctx.Done():
				stopped <- time.Since(start)
				return task.Output{}, ctx.Err()
			case <-time.After(time.Millisecond):
				progress(chunk)
			}
		}
		return task.Output{Text: "done"}, nil
	})
	e := newEnv(t, envOptions{
		cfg:    httpapi.Config{WriteTimeout: 300 * time.Millisecond},
		models: []executors.Served{{Spec: task.ModelSpec{Name: "m/firehose", Backend: task.BackendLocal, Capabilities: []string{"chat"}, Concurrency: 1}, Model: firehose}},
	})
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"model":"m/firehose","stream":true,"messages":[{"role":"user","content":"go"}]}`
	fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	// Never read: the socket buffers fill, a write blocks past its deadline.
	select {
	case d := <-stopped:
		t.Logf("the model was cancelled after %s", d)
	case <-time.After(15 * time.Second):
		t.Fatal("the stalled stream was never dropped")
	}
}
