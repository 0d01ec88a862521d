// Package ratelimit limits requests per caller with a token bucket: a
// bucket holds at most Burst tokens, refills at Rate tokens per second, and
// every request takes one. Buckets live in Redis when several routers share
// the limit, in memory otherwise.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Limit is one bucket's shape.
type Limit struct {
	// Rate is how many tokens a second the bucket refills.
	Rate float64
	// Burst is how many tokens the bucket holds; a caller idle long enough
	// may send Burst requests at once.
	Burst int
}

// Check reports what is wrong with a limit.
func (l Limit) Check() error {
	if l.Rate <= 0 || l.Burst < 1 {
		return errors.New("ratelimit: rate must be positive and burst at least 1")
	}
	return nil
}

// Decision is the outcome of one request for a token.
type Decision struct {
	Allowed bool
	// RetryAfter is how long until a token is there, when not Allowed.
	RetryAfter time.Duration
}

// Limiter takes one token for a caller.
type Limiter interface {
	Take(ctx context.Context, caller string) (Decision, error)
}

// wait is how long the bucket needs to refill from tokens to one token.
func (l Limit) wait(tokens float64) time.Duration {
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1-tokens)/l.Rate*float64(time.Second)).Round(time.Millisecond) + time.Millisecond
}

func invalid(l Limit) error { return fmt.Errorf("ratelimit: invalid limit %+v: %w", l, l.Check()) }
