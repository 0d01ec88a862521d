package executors

import (
	"sync"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// accepts sends "accepted" for the jobs of built-in models still
// unanswered task.AcceptWithin after they arrived, from one goroutine for all of them, which runs while
// any job waits for it. A timer of its own per job would be cheaper to
// write but not to run: one due within a millisecond wakes the thread
// waiting in the network poller each time it is set, on every dispatch.
type accepts struct {
	mu      sync.Mutex
	pending []*job // in the order they arrived
	// sweeping is whether the goroutine runs; it ends when pending is
	// empty, and add starts it again.
	sweeping bool
	spare    []*job
}

// add has j accepted in time unless it is answered first.
func (a *accepts) add(e *Executor, j *job) {
	a.mu.Lock()
	a.pending = append(a.pending, j)
	start := !a.sweeping
	a.sweeping = true
	a.mu.Unlock()
	if start {
		go a.sweep(e)
	}
}

// sweep sends the accepted of each pending job once it is due, and drops
// the jobs answered meanwhile, until none is left.
func (a *accepts) sweep(e *Executor) {
	var due []*job
	for {
		a.mu.Lock()
		if len(a.pending) == 0 {
			a.sweeping = false
			a.mu.Unlock()
			return
		}
		wait := time.Until(a.pending[0].received.Add(task.AcceptWithin))
		if wait <= 0 {
			due, a.pending = a.take(due[:0])
		}
		a.mu.Unlock()
		if wait > 0 {
			time.Sleep(wait)
			continue
		}
		for i, j := range due {
			e.accept(j)
			due[i] = nil
		}
	}
}

// take moves the jobs due from pending to due, dropping those answered,
// and returns both; a.mu is held.
func (a *accepts) take(due []*job) ([]*job, []*job) {
	now := time.Now()
	n := 0
	for n < len(a.pending) && !a.pending[n].received.Add(task.AcceptWithin).After(now) {
		if j := a.pending[n]; j.accepted.Load() == acceptPending {
			due = append(due, j)
		}
		n++
	}
	// Keep the rest, without the answered ones, in a slice of their own
	// so that the jobs taken are not kept alive by the old one.
	rest := a.spare[:0]
	for _, j := range a.pending[n:] {
		if j.accepted.Load() == acceptPending {
			rest = append(rest, j)
		}
	}
	clear(a.pending)
	a.spare = a.pending[:0]
	return due, rest
}
