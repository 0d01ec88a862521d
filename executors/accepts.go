package executors

import (
	"sync"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// accepts sends "accepted" for the jobs of built-in models still
// unanswered task.AcceptWithin after they arrived, from one goroutine for
// all of them, which runs while any job waits for it. A timer per job
// would be simpler but dearer: one due within a millisecond wakes the
// thread waiting in the network poller each time it is set, on every
// dispatch. For the same reason the goroutine sleeps at least
// task.AcceptWithin between sweeps, so that it wakes about once a
// millisecond while work comes in, not once per job: a job is accepted
// between one and two AcceptWithin after it arrived.
type accepts struct {
	mu      sync.Mutex
	pending []*job // in the order they arrived, so the due ones lead
	// sweeping is whether the goroutine runs; it ends when pending is
	// empty, and add starts it again.
	sweeping bool
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

// sweep sends the accepted of each pending job once it is due (accept
// does nothing for a job answered meanwhile), until none is left.
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
			due = a.takeDue(due[:0])
		}
		a.mu.Unlock()
		if wait > 0 {
			time.Sleep(max(wait, task.AcceptWithin))
			continue
		}
		for i, j := range due {
			e.accept(j)
			due[i] = nil
		}
	}
}

// takeDue moves the jobs due from the front of pending to due; a.mu is
// held.
func (a *accepts) takeDue(due []*job) []*job {
	now := time.Now()
	n := 0
	for n < len(a.pending) && !a.pending[n].received.Add(task.AcceptWithin).After(now) {
		n++
	}
	due = append(due, a.pending[:n]...)
	left := copy(a.pending, a.pending[n:])
	clear(a.pending[left:])
	a.pending = a.pending[:left]
	return due
}
