package executors

import (
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// Admission defaults: a queue that holds a burst of a thousand subtasks
// for one model, and a wait long enough to ride out a burst yet shorter
// than a subtask's deadline, so the router can still try elsewhere.
const (
	DefaultMaxQueue  = 1024
	DefaultQueueWait = 30 * time.Second
)

// Bounds of the wait an overloaded reply asks for.
const (
	minRetryAfter     = 50 * time.Millisecond
	unknownRetryAfter = time.Second // before any subtask of the model has run
)

// overloaded is the reply to a subtask refused for want of a free slot:
// retryable, with the wait after which a slot is likely free.
func (e *Executor) overloaded(m *served, why string) *task.Error {
	return &task.Error{Code: task.CodeOverloaded, Retryable: true, RetryAfterMs: m.retryAfter().Milliseconds(),
		Message: "executor " + e.cfg.ID + " is at capacity for model " + m.Spec.Name + ": " + why}
}

// recordRun folds the run time of a subtask started at start into the
// model's moving average (weight 1/8). Concurrent updates may lose one
// another's sample, which an estimate can afford.
func (m *served) recordRun(start time.Time) {
	d := int64(time.Since(start))
	old := m.runNs.Load()
	if old == 0 {
		m.runNs.Store(max(d, 1))
		return
	}
	m.runNs.Store(max(old+(d-old)/8, 1))
}

// retryAfter estimates how long until a subtask sent now would find a
// slot: the waiting subtasks, spread over the workers, times the usual run
// time; at least minRetryAfter and at most the queue wait.
func (m *served) retryAfter() time.Duration {
	avg := time.Duration(m.runNs.Load())
	if avg == 0 {
		return min(unknownRetryAfter, m.wait)
	}
	rounds := m.queued.Load()/int64(m.workers) + 1
	return min(max(avg*time.Duration(rounds), minRetryAfter), m.wait)
}
