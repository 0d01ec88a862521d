package server

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/taskrouter/taskrouter/task"
)

func ev(typ task.EventType, id string, attempt int) task.Event {
	return task.Event{Type: typ, SubtaskID: id, Capability: "cap-" + id, Model: "m", Attempt: attempt,
		Error: &task.Error{Code: task.CodeLost, Message: "silent"}}
}

// TestTally: whatever the order of a request's events, progress increases
// with every notification, never passes total, and reaches it with the
// answer; a subtask's repeated end is not counted twice.
func TestTally(t *testing.T) {
	planned := func(n int) task.Event { return task.Event{Type: task.EventPlanned, Subtasks: n} }
	merged := task.Event{Type: task.EventMerged, Text: "template"}
	cases := []struct {
		name   string
		events []task.Event
		want   []string // the messages, in order
	}{
		{"two subtasks", []task.Event{planned(2), ev(task.EventAccepted, "t1", 1), ev(task.EventAccepted, "t2", 1),
			ev(task.EventDone, "t2", 1), ev(task.EventDone, "t1", 1), merged},
			[]string{"planned 2 subtasks", "t1 cap-t1 running on m", "t2 cap-t2 running on m", "t2 cap-t2 done on m", "t1 cap-t1 done on m", "answer merged (template)"}},
		{"a retry after a lost attempt", []task.Event{planned(1), ev(task.EventAccepted, "t1", 1), ev(task.EventRetry, "t1", 1),
			ev(task.EventAccepted, "t1", 2), ev(task.EventDone, "t1", 2), merged},
			[]string{"planned 1 subtask", "t1 cap-t1 running on m", "t1 cap-t1: attempt 1 on m failed (lost: silent); retrying",
				"t1 cap-t1 running on m (attempt 2)", "t1 cap-t1 done on m", "answer merged (template)"}},
		{"a retry before any executor took it", []task.Event{planned(1), ev(task.EventRetry, "t1", 1), ev(task.EventAccepted, "t1", 2),
			ev(task.EventDone, "t1", 2), merged}, nil},
		{"failed without starting, then its late end", []task.Event{planned(2), ev(task.EventFailed, "t1", 1), ev(task.EventAccepted, "t2", 1),
			ev(task.EventCancelled, "t2", 1), ev(task.EventCancelled, "t1", 1), ev(task.EventAccepted, "t1", 1)},
			[]string{"planned 2 subtasks", "t1 cap-t1 failed: lost: silent", "t2 cap-t2 running on m", "t2 cap-t2 cancelled"}},
		{"a merge model's steps, not in the plan", []task.Event{planned(1), ev(task.EventAccepted, "t1", 1), ev(task.EventDone, "t1", 1),
			ev(task.EventAccepted, "merge", 1), ev(task.EventDone, "merge", 1), {Type: task.EventMerged, Text: "model"}}, nil},
		{"a plan dispatched as it is written", []task.Event{planned(1), planned(2), ev(task.EventAccepted, "t1", 1), ev(task.EventAccepted, "t2", 1),
			planned(3), ev(task.EventDone, "t1", 1), planned(3), ev(task.EventAccepted, "t3", 1), ev(task.EventDone, "t2", 1),
			ev(task.EventDone, "t3", 1), planned(4), ev(task.EventAccepted, "r2-t1", 1), ev(task.EventDone, "r2-t1", 1), merged}, nil},
		{"dispatches, streamed text and the end say nothing", []task.Event{planned(1), ev(task.EventDispatched, "t1", 1),
			ev(task.EventProgress, "t1", 1), ev(task.EventFinished, "", 0)}, []string{"planned 1 subtask"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var tl tally
			var got []*mcp.ProgressNotificationParams
			var msgs []string
			for _, e := range c.events {
				if n, ok := tl.note(e); ok {
					got = append(got, n)
					msgs = append(msgs, n.Message)
				}
			}
			for i, n := range got {
				if i > 0 && n.Progress <= got[i-1].Progress {
					t.Errorf("notification %d: progress %v after %v; it must increase", i, n.Progress, got[i-1].Progress)
				}
				if n.Progress > n.Total || (n.Progress == n.Total) != strings.HasPrefix(n.Message, "answer merged") {
					t.Errorf("notification %d %q: progress %v of %v; only the answer completes it", i, n.Message, n.Progress, n.Total)
				}
			}
			if c.want != nil && strings.Join(msgs, "|") != strings.Join(c.want, "|") {
				t.Errorf("messages\n%q\nwant\n%q", msgs, c.want)
			}
		})
	}
}

// TestProgressOrderAndStop: notifications go out in the order the events
// came, from many goroutines, all before stop returns, which leaves the
// client time to handle the last one before the result; events after
// stop and a failing client are dropped without blocking.
func TestProgressOrderAndStop(t *testing.T) {
	var mu sync.Mutex
	var sent []float64
	var last time.Time
	p := newProgress(context.Background(), "tok", func(_ context.Context, n *mcp.ProgressNotificationParams) error {
		if n.ProgressToken != "tok" {
			t.Errorf("token %v", n.ProgressToken)
		}
		mu.Lock()
		sent = append(sent, n.Progress)
		last = time.Now()
		mu.Unlock()
		return nil
	})
	p.event(task.Event{Type: task.EventPlanned, Subtasks: 50})
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			id := "t" + string(rune('A'+i))
			p.event(ev(task.EventAccepted, id, 1))
			p.event(ev(task.EventDone, id, 1))
		})
	}
	wg.Wait()
	p.event(task.Event{Type: task.EventMerged})
	p.stop()
	p.event(ev(task.EventAccepted, "late", 1))
	mu.Lock()
	defer mu.Unlock()
	if settled := time.Since(last); settled < settleTime {
		t.Errorf("stop returned %s after the last notification; the result must wait %s", settled, settleTime)
	}
	if len(sent) != 102 {
		t.Fatalf("sent %d notifications, want 102", len(sent))
	}
	for i := 1; i < len(sent); i++ {
		if sent[i] <= sent[i-1] {
			t.Fatalf("notification %d has progress %v after %v", i, sent[i], sent[i-1])
		}
	}

	calls := 0
	failing := newProgress(context.Background(), 1, func(context.Context, *mcp.ProgressNotificationParams) error {
		calls++
		return errors.New("client gone")
	})
	failing.event(task.Event{Type: task.EventPlanned, Subtasks: 1})
	failing.event(ev(task.EventAccepted, "t1", 1))
	failing.stop()
	if calls > 2 {
		t.Errorf("sent %d notifications to a client that is gone", calls)
	}
	var none *progress
	none.event(ev(task.EventAccepted, "t1", 1)) // a call without a progress token
	none.stop()
}
