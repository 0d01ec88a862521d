package jobs

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/taskrouter/taskrouter/adapters/httpapi/kv"
	"github.com/taskrouter/taskrouter/task"
)

// scanner looks through the store for jobs whose owner was lost. It is
// used by one goroutine only.
type scanner struct {
	m       *Manager
	watch   *leaseWatch
	settled map[string]bool // jobs read once with nothing left to do
}

// prune forgets the jobs no longer in the store.
func (s *scanner) prune(present map[string]bool) {
	for id := range s.settled {
		if !present[id] {
			delete(s.settled, id)
		}
	}
	for id := range s.watch.seen {
		if !present[id] {
			s.watch.forget(id)
		}
	}
}

// scanLoop scans every ScanInterval, with jitter so that the routers do
// not all scan at the same instant, until ctx ends.
func (m *Manager) scanLoop(ctx context.Context) {
	defer m.loops.Done()
	s := &scanner{m: m, watch: newLeaseWatch(m.cfg.LeaseTTL), settled: map[string]bool{}}
	for {
		wait := m.cfg.ScanInterval/2 + rand.N(m.cfg.ScanInterval+1)
		if !sleepUntil(ctx, time.Now().Add(wait)) {
			return
		}
		if err := s.scan(ctx, time.Now()); err != nil && ctx.Err() == nil {
			m.cfg.Logger.Warn("looking for jobs of lost routers", "err", err)
		}
	}
}

// scan reads every job not known to be settled and takes over those whose
// lease is lost. Settled jobs never change again, so each is read once.
func (s *scanner) scan(ctx context.Context, now time.Time) error {
	keys, err := s.m.cfg.Store.Keys(ctx)
	if err != nil {
		return fmt.Errorf("scanning for lost jobs: %w", err)
	}
	present := make(map[string]bool, len(keys))
	for _, k := range keys {
		present[k] = true
	}
	s.prune(present)
	for _, id := range keys {
		if ctx.Err() != nil {
			return nil
		}
		if !validID(id) || s.settled[id] {
			continue
		}
		j, err := s.m.store.get(ctx, id)
		if err != nil {
			continue // expired since the listing, or unreadable now: the next scan sees
		}
		if j.settled() {
			s.settled[id] = true
			s.watch.forget(id)
			continue
		}
		// Jobs stored before leases existed name none; they are left alone.
		if j.Lease != "" && j.Lease != s.m.held.lease && s.watch.lost(id, j.rev, now) {
			s.m.takeOver(ctx, j)
		}
	}
	return nil
}

// takeOver claims a job whose owner was lost with a write conditional on
// the revision it was read at, so that of several routers trying, one
// wins and the others leave it. A job that has not ended runs again from
// the start, or fails once it has been taken over MaxTakeovers times; an
// ended one has its pending callback delivered.
func (m *Manager) takeOver(ctx context.Context, j Job) {
	m.closing.RLock()
	defer m.closing.RUnlock()
	if m.closed {
		return
	}
	from := j.Instance
	var err error
	switch {
	case j.Status.Final():
		err = m.adoptDeliveries(ctx, j)
	case j.Takeovers >= m.cfg.MaxTakeovers:
		err = m.abandon(ctx, j)
	default:
		err = m.rerun(ctx, j)
	}
	switch {
	case err == nil:
		m.cfg.Logger.Info("took over a job of a lost router", "job_id", j.ID, "from", from, "status", j.Status)
	case !errors.Is(err, kv.ErrConflict) && !errors.Is(err, ErrQueueFull):
		m.cfg.Logger.Warn("taking over a job of a lost router", "job_id", j.ID, "from", from, "err", err)
	}
}

// own makes this router the job's owner.
func (m *Manager) own(j *Job) { j.Lease, j.Instance = m.held.lease, m.cfg.Instance }

// adoptDeliveries delivers the pending callback, and publishes the
// pending result, of an ended job.
func (m *Manager) adoptDeliveries(ctx context.Context, j Job) error {
	m.own(&j)
	if err := m.store.swap(ctx, &j); err != nil {
		return err
	}
	m.startDeliveries(j)
	return nil
}

// abandon fails a job whose routers were lost too often: something in it
// may be what brings them down.
func (m *Manager) abandon(ctx context.Context, j Job) error {
	m.own(&j)
	j.Status, j.EndedAt = StatusFailed, time.Now().UTC()
	j.Error = task.Errorf(task.CodeUnavailable, "the routers running job %s were lost %d times (crashed or cut off from NATS), "+
		"so it is not run again; submit it again if you still need it", j.ID, j.Takeovers+1)
	if j.Callback != nil {
		j.Callback.NextAttemptAt = j.EndedAt
	}
	if err := m.store.swap(ctx, &j); err != nil {
		return err
	}
	snapshot := j.clone()
	m.cfg.Feed.Publish(j.ID, Update{Job: &snapshot})
	m.startDeliveries(j)
	return nil
}

// rerun queues a job again from the start: its plan is made anew and
// what the lost router reported of its subtasks is dropped. A router with
// no room in its queue leaves the job to another.
func (m *Manager) rerun(ctx context.Context, j Job) error {
	if m.pending.Add(1) > m.capacity {
		m.pending.Add(-1)
		return ErrQueueFull
	}
	m.own(&j)
	j.Takeovers++
	j.Status, j.StartedAt, j.EndedAt = StatusQueued, time.Time{}, time.Time{}
	j.Plan, j.Subtasks, j.Answer, j.Merge, j.Usage, j.Error = nil, []task.SubtaskState{}, "", "", task.Usage{}, nil
	if err := m.store.swap(ctx, &j); err != nil {
		m.pending.Add(-1)
		return err
	}
	m.enqueue(m.register(j))
	return nil
}
