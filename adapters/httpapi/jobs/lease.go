package jobs

import (
	"context"
	"errors"
	"sync"
	"time"
)

// holdings are the jobs this router holds the lease of, with when each
// was last written. Every write of a job renews its lease, so the renewer
// writes only the jobs nothing else has written lately: queued jobs, jobs
// whose subtasks report nothing, and callbacks waiting for a retry.
type holdings struct {
	lease string // this process's lease id, named by the jobs it owns
	ttl   time.Duration

	mu      sync.Mutex
	written map[string]time.Time
}

func newHoldings(lease string, ttl time.Duration) *holdings {
	return &holdings{lease: lease, ttl: ttl, written: map[string]time.Time{}}
}

// wrote records a write of a job: held while it is not settled.
func (h *holdings) wrote(j *Job, at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if j.settled() || j.Lease != h.lease {
		delete(h.written, j.ID)
		return
	}
	h.written[j.ID] = at
}

func (h *holdings) drop(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.written, id)
}

// stale returns the jobs not written since before.
func (h *holdings) stale(before time.Time) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var ids []string
	for id, at := range h.written {
		if at.Before(before) {
			ids = append(ids, id)
		}
	}
	return ids
}

// renewLoop renews the leases of the jobs held here every LeaseRenew,
// until ctx ends. A job written within the last half interval is left
// alone, so no job goes unwritten for much more than 1.5 intervals.
func (m *Manager) renewLoop(ctx context.Context) {
	defer m.loops.Done()
	tick := time.NewTicker(m.cfg.LeaseRenew)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		ids := m.held.stale(time.Now().Add(-m.cfg.LeaseRenew / 2))
		rctx, cancel := context.WithTimeout(ctx, m.cfg.LeaseRenew)
		forEach(ids, 8, func(id string) { m.renew(rctx, id) })
		cancel()
	}
}

// renew rewrites a held job as it is stored, which renews its lease. The
// write is conditional: if anything wrote the job in between, that write
// renewed it already.
func (m *Manager) renew(ctx context.Context, id string) {
	j, err := m.store.get(ctx, id)
	if errors.Is(err, ErrNotFound) || err == nil && (j.Lease != m.held.lease || j.settled()) {
		m.held.drop(id) // expired, taken over, or settled by a write in between
		return
	}
	if err == nil {
		err = m.store.swap(ctx, &j)
	}
	if err != nil && ctx.Err() == nil {
		m.cfg.Logger.Debug("renewing a job lease", "job_id", id, "err", err)
	}
}

// forEach calls fn on every id, at most n at a time, and returns when all
// calls have.
func forEach(ids []string, n int, fn func(id string)) {
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, id := range ids {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(id)
		})
	}
	wg.Wait()
}

// leaseWatch tells which jobs' leases are lost, by the clock of this
// router alone: a job not settled whose store revision has not changed
// for ttl since this router first saw that revision has an owner that
// stopped renewing it. The routers' clocks may disagree; only how long
// this one has waited counts.
type leaseWatch struct {
	ttl  time.Duration
	seen map[string]leaseSeen
}

type leaseSeen struct {
	rev   uint64
	since time.Time
}

func newLeaseWatch(ttl time.Duration) *leaseWatch {
	return &leaseWatch{ttl: ttl, seen: map[string]leaseSeen{}}
}

// lost records the revision of a job read at now and reports whether its
// lease is lost.
func (w *leaseWatch) lost(id string, rev uint64, now time.Time) bool {
	s, ok := w.seen[id]
	if !ok || s.rev != rev {
		w.seen[id] = leaseSeen{rev: rev, since: now}
		return false
	}
	return now.Sub(s.since) >= w.ttl
}

// forget drops what is known of a job.
func (w *leaseWatch) forget(id string) { delete(w.seen, id) }
