package executors

import (
	"slices"
	"testing"
)

// Running work is found by its request until it is untracked, in any
// order; cancellations reach what is left, and a request with nothing
// running leaves nothing behind.
func TestCancelsTrackRunningWork(t *testing.T) {
	c := newCancels()
	cancelled := map[string]bool{}
	work := func(subtask string, attempt int) *runningWork {
		return &runningWork{request: "req_1", subtask: subtask, attempt: attempt, inbox: "inbox." + subtask,
			cancel: func() { cancelled[subtask] = true }}
	}
	a, b, d := work("a", 1), work("b", 1), work("d", 2)
	other := &runningWork{request: "req_2", subtask: "x", inbox: "inbox.x", cancel: func() { cancelled["x"] = true }}
	for _, w := range []*runningWork{a, b, d, other} {
		if !c.track(w) {
			t.Fatalf("%s was refused", w.subtask)
		}
	}
	if got := c.inboxes(nil); len(got) != 4 {
		t.Fatalf("inboxes %v", got)
	}
	c.untrack(b)
	c.untrack(b) // a second time does nothing
	if n := c.cancelRequest("req_1", nil, 0); n != 2 || !cancelled["a"] || !cancelled["d"] || cancelled["b"] || cancelled["x"] {
		t.Fatalf("cancelled %d: %v", n, cancelled)
	}
	if c.track(work("e", 1)) {
		t.Fatal("work of a cancelled request was tracked")
	}
	c.untrack(d)
	c.untrack(a)
	if _, ok := c.running["req_1"]; ok {
		t.Fatal("a request with nothing running is still listed")
	}
	if got := c.inboxes(nil); !slices.Equal(got, []string{"inbox.x"}) {
		t.Fatalf("inboxes %v", got)
	}
	// An attempt cancelled by name is refused when it arrives later.
	if n := c.cancelRequest("req_2", []string{"y"}, 3); n != 0 || c.track(&runningWork{request: "req_2", subtask: "y", attempt: 3}) {
		t.Fatal("an attempt cancelled by name was tracked")
	}
}
