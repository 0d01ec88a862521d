package executors_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/task"
)

// By default a burst far beyond a model's concurrency waits for a slot: a
// thousand subtasks behind one running on a model of concurrency 1 are all
// accepted, none refused.
func TestDefaultQueueHoldsABurst(t *testing.T) {
	m := blockingModel{release: make(chan struct{}), started: make(chan string, 2000)}
	h := startWith(t, m, 1, executors.Config{KeepAlive: time.Hour})
	const n = 1000
	replies := make([]<-chan task.Reply, n)
	for i := range replies {
		replies[i] = h.send(t, "r", fmt.Sprintf("t%d", i))
	}
	for i, ch := range replies {
		if r := next(t, ch); r.Type != task.ReplyAccepted {
			t.Fatalf("subtask %d of the burst: %+v, want accepted", i, r.Error)
		}
	}
	close(m.release)
	for i, ch := range replies {
		if r := next(t, ch); r.Type != task.ReplyResult {
			t.Fatalf("subtask %d of the burst ended with %+v, want its result", i, r.Error)
		}
	}
}

// A subtask that waited QueueWait without a free slot is answered
// overloaded, retryable, with retry_after_ms, and is never run; its place
// in the count of work in flight is given back.
func TestQueueWaitExpiryAnswersOverloaded(t *testing.T) {
	m := blockingModel{release: make(chan struct{}), started: make(chan string, 8)}
	const wait = 100 * time.Millisecond
	h := startWith(t, m, 1, executors.Config{KeepAlive: time.Hour, QueueWait: wait})
	running := h.send(t, "r", "t1")
	next(t, running)
	<-m.started
	sent := time.Now()
	waiting := h.send(t, "r", "t2")
	if r := next(t, waiting); r.Type != task.ReplyAccepted {
		t.Fatalf("queued subtask: %+v, want accepted", r)
	}
	r := next(t, waiting)
	if r.Type != task.ReplyError || r.Error.Code != task.CodeOverloaded || !r.Error.Retryable || r.Error.RetryAfterMs <= 0 {
		t.Fatalf("after waiting: %+v %+v, want overloaded with retry_after_ms", r, r.Error)
	}
	if waited := time.Since(sent); waited < wait {
		t.Fatalf("answered overloaded after %s, before the queue wait of %s", waited, wait)
	}
	if r.Error.RetryAfter() > wait {
		t.Errorf("retry_after_ms %d is longer than the queue wait %s", r.Error.RetryAfterMs, wait)
	}
	if n := h.ex.InFlight("m"); n != 1 {
		t.Errorf("in flight after the expiry = %d, want 1 (the running subtask)", n)
	}
	close(m.release)
	if r := next(t, running); r.Type != task.ReplyResult {
		t.Fatalf("t1 ended with %+v", r)
	}
	// The worker passes over the expired subtask; a new one still runs.
	if r := answer(t, h.send(t, "r", "t3")); r.Type != task.ReplyResult {
		t.Fatalf("t3: %+v", r)
	}
	select {
	case id := <-m.started:
		if id != "t3" {
			t.Fatalf("the model ran %s after its wait expired", id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("t3 did not run")
	}
}

// A subtask waiting in the queue gets keep-alives like a running one, so
// the router does not take a long queue for a dead executor.
func TestQueuedSubtaskGetsKeepAlives(t *testing.T) {
	m := blockingModel{release: make(chan struct{}), started: make(chan string, 8)}
	h := startWith(t, m, 1, executors.Config{KeepAlive: 20 * time.Millisecond})
	running := h.send(t, "r", "t1")
	next(t, running)
	<-m.started
	waiting := h.send(t, "r", "t2")
	if r := next(t, waiting); r.Type != task.ReplyAccepted {
		t.Fatalf("queued subtask: %+v, want accepted", r)
	}
	for i := range 3 {
		if r := next(t, waiting); r.Type != task.ReplyProgress || r.Delta != "" {
			t.Fatalf("reply %d while queued = %+v, want an empty progress (keep-alive)", i, r)
		}
	}
	close(m.release)
}
