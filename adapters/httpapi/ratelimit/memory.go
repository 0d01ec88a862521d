package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Memory keeps buckets in this process. It is safe for concurrent use.
type Memory struct {
	limit Limit
	now   func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

var _ Limiter = (*Memory)(nil)

// NewMemory returns a limiter that keeps its buckets in memory.
func NewMemory(l Limit) (*Memory, error) {
	if l.Check() != nil {
		return nil, invalid(l)
	}
	return &Memory{limit: l, now: time.Now, buckets: map[string]*bucket{}}, nil
}

// Take implements Limiter. It never fails.
func (m *Memory) Take(_ context.Context, caller string) (Decision, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.sweepLocked(now)
	b, ok := m.buckets[caller]
	if !ok {
		b = &bucket{tokens: float64(m.limit.Burst), at: now}
		m.buckets[caller] = b
	}
	if elapsed := now.Sub(b.at); elapsed > 0 {
		b.tokens = min(float64(m.limit.Burst), b.tokens+elapsed.Seconds()*m.limit.Rate)
		b.at = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return Decision{Allowed: true}, nil
	}
	return Decision{RetryAfter: m.limit.wait(b.tokens)}, nil
}

// fullAfter is how long an untouched bucket takes to be full again; after
// that it is the same as no bucket and can go.
func (m *Memory) fullAfter() time.Duration {
	return time.Duration(float64(m.limit.Burst) / m.limit.Rate * float64(time.Second))
}

func (m *Memory) sweepLocked(now time.Time) {
	idle := max(m.fullAfter(), time.Second)
	if now.Sub(m.lastSweep) < idle {
		return
	}
	m.lastSweep = now
	for k, b := range m.buckets {
		if now.Sub(b.at) >= idle {
			delete(m.buckets, k)
		}
	}
}
