package ratelimit

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Failover takes tokens from a shared limiter (Redis) and, while that one
// fails, from an in-process limiter of the same limit, so an outage of the
// shared store never lifts the limit. After a failure it asks the shared
// limiter again only once Retry has passed, one request at a time, so
// callers do not wait on a store that is down; the first success switches
// back. Take never fails.
//
// During an outage every router limits on its own: with n routers a key
// may get up to n times its rate, never an unlimited one.
type Failover struct {
	shared Limiter
	local  *Memory
	cfg    FailoverConfig

	mu      sync.Mutex // guards the fields below
	down    bool
	retryAt time.Time
	probing bool
}

// FailoverConfig tunes a Failover; zero values take the defaults.
type FailoverConfig struct {
	// Timeout bounds each call to the shared limiter (500ms). The shared
	// limiter's client must honour context deadlines.
	Timeout time.Duration
	// Retry is how long after a failure the shared limiter is asked again (1s).
	Retry time.Duration
	// Logger gets one warning when the shared limiter fails and one note
	// when it answers again.
	Logger *slog.Logger
}

var _ Limiter = (*Failover)(nil)

// NewFailover returns a limiter that takes from shared and falls back to
// an in-process bucket of limit l per caller.
func NewFailover(shared Limiter, l Limit, cfg FailoverConfig) (*Failover, error) {
	local, err := NewMemory(l)
	if err != nil {
		return nil, err
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 500 * time.Millisecond
	}
	if cfg.Retry <= 0 {
		cfg.Retry = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Failover{shared: shared, local: local, cfg: cfg}, nil
}

// Take implements Limiter.
func (f *Failover) Take(ctx context.Context, caller string) (Decision, error) {
	probe, ok := f.useShared()
	if !ok {
		return f.local.Take(ctx, caller)
	}
	sctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	d, err := f.shared.Take(sctx, caller)
	cancel()
	switch {
	case err == nil:
		f.markUp(probe)
		// The local bucket follows this router's use of the key, so that
		// an outage does not start everyone with a fresh burst.
		_, _ = f.local.Take(ctx, caller)
		return d, nil
	case ctx.Err() != nil:
		// The caller went away: that says nothing about the store.
		f.endProbe(probe)
	default:
		f.markDown(probe, err)
	}
	return f.local.Take(ctx, caller)
}

// useShared says whether to ask the shared limiter, and whether this call
// is the probe of a store that was down.
func (f *Failover) useShared() (probe, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.down {
		return false, true
	}
	if f.probing || time.Now().Before(f.retryAt) {
		return false, false
	}
	f.probing = true
	return true, true
}

func (f *Failover) markUp(probe bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if probe {
		f.probing = false
	}
	if f.down {
		f.down = false
		f.cfg.Logger.Info("rate limits are shared through Redis again")
	}
}

func (f *Failover) markDown(probe bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if probe {
		f.probing = false
	}
	f.retryAt = time.Now().Add(f.cfg.Retry)
	if !f.down {
		f.down = true
		f.cfg.Logger.Warn("rate limiter: Redis is unreachable; limiting in this process at the same rate until it is back", "err", err)
	}
}

func (f *Failover) endProbe(probe bool) {
	if !probe {
		return
	}
	f.mu.Lock()
	f.probing = false
	f.mu.Unlock()
}
