package router

import (
	"math/rand/v2"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// The backoff of retries after an overloaded reply: exponential from
// backoffBase, at most backoffCap, with full jitter, so that the subtasks
// of a burst refused together do not all come back at the same instant.
const (
	backoffBase = 50 * time.Millisecond
	backoffCap  = 2 * time.Second
)

// retryWait is how long to wait before retrying after err, the outcome of
// attempt number attempts: what err asks for (retry_after_ms), and after
// an overloaded executor a jittered backoff on top of it. Other failures
// are retried elsewhere at once.
func retryWait(err *task.Error, attempts int) time.Duration {
	if err.Code == task.CodeOverloaded {
		return backoff(attempts, err.RetryAfter(), rand.Int64N)
	}
	return err.RetryAfter()
}

// backoff returns the wait before retry n (1 for the first): retryAfter,
// which the executor asked for, plus a uniform random wait of up to
// backoffBase doubled n-1 times, capped at backoffCap. rnd(k) returns a
// uniform value in [0, k).
func backoff(n int, retryAfter time.Duration, rnd func(int64) int64) time.Duration {
	ceiling := backoffCap
	if n >= 1 && n <= 16 {
		ceiling = min(backoffBase<<(n-1), backoffCap)
	}
	return max(retryAfter, 0) + time.Duration(rnd(int64(ceiling)+1))
}
