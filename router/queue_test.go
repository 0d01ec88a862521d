package router_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/router"
)

// A subtask waiting in an executor's queue for longer than lost_after is
// not taken for lost: the executor keeps it alive while it waits, so it
// runs once, where it was queued, instead of being retried.
func TestQueuedSubtaskIsNotTakenForLost(t *testing.T) {
	e := newEnv(t, router.Config{LostAfter: 300 * time.Millisecond, DisableModelMerge: true})
	var calls atomic.Int64
	e.executor("e1", served("one-at-a-time", echo(time.Second, &calls), 1, "chat"))
	resp := e.run(context.Background(), plan(sub("t1", "chat", "a"), sub("t2", "chat", "b")))
	mustDone(t, resp)
	for _, st := range resp.Subtasks {
		if st.Attempts != 1 {
			t.Errorf("subtask %s took %d attempts, want 1: its wait in the queue was taken for a lost executor", st.ID, st.Attempts)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("the model ran %d times, want 2", n)
	}
}
