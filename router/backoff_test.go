package router

import (
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// The backoff's range doubles from 50 ms with each retry up to 2 s, and
// starts after the wait the executor asked for.
func TestBackoffBounds(t *testing.T) {
	for _, c := range []struct {
		n          int
		retryAfter time.Duration
		ceiling    time.Duration
	}{
		{1, 0, 50 * time.Millisecond},
		{2, 0, 100 * time.Millisecond},
		{3, 0, 200 * time.Millisecond},
		{6, 0, 1600 * time.Millisecond},
		{7, 0, 2 * time.Second},
		{1000, 0, 2 * time.Second},
		{0, 0, 2 * time.Second},
		{1, 300 * time.Millisecond, 50 * time.Millisecond},
		{3, 5 * time.Second, 200 * time.Millisecond},
	} {
		var asked int64
		lowest := backoff(c.n, c.retryAfter, func(k int64) int64 { asked = k; return 0 })
		highest := backoff(c.n, c.retryAfter, func(k int64) int64 { return k - 1 })
		if asked != int64(c.ceiling)+1 {
			t.Errorf("retry %d: jitter drawn from [0, %v), want [0, %v]", c.n, time.Duration(asked), c.ceiling)
		}
		if lowest != c.retryAfter || highest != c.retryAfter+c.ceiling {
			t.Errorf("retry %d after %v: waits from %v to %v, want %v to %v", c.n, c.retryAfter, lowest, highest, c.retryAfter, c.retryAfter+c.ceiling)
		}
	}
}

// Over many draws the waits spread over the whole range (full jitter) and
// never come before retry_after_ms.
func TestRetryWaitHonoursRetryAfterWithJitter(t *testing.T) {
	err := &task.Error{Code: task.CodeOverloaded, Retryable: true, RetryAfterMs: 120}
	const ceiling = 100 * time.Millisecond // the second retry's
	lo, hi := time.Hour, time.Duration(0)
	for range 2000 {
		w := retryWait(err, 2)
		lo, hi = min(lo, w), max(hi, w)
	}
	if lo < 120*time.Millisecond || hi > 120*time.Millisecond+ceiling {
		t.Fatalf("waits from %v to %v, want within [120ms, %v]", lo, hi, 120*time.Millisecond+ceiling)
	}
	if lo > 130*time.Millisecond || hi < 210*time.Millisecond {
		t.Fatalf("waits from %v to %v do not spread over the jitter's range", lo, hi)
	}
	// Other retryable failures go elsewhere at once, or after what they ask.
	if w := retryWait(task.Errorf(task.CodeLost, "gone"), 2); w != 0 {
		t.Errorf("lost: wait %v, want 0", w)
	}
	if w := retryWait(&task.Error{Code: task.CodeRateLimited, RetryAfterMs: 700}, 1); w != 700*time.Millisecond {
		t.Errorf("rate_limited: wait %v, want its retry_after_ms", w)
	}
}
