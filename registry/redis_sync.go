package registry

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// syncState is what the syncs between the snapshot and Redis share; mu
// serialises the background loop, Models and Close.
type syncState struct {
	mu        sync.Mutex
	specs     specCache
	lastEpoch string
	degraded  bool
	// lastOK is the time of the last good sync (unix ns); it is read
	// without mu, to date a stale list at once.
	lastOK atomic.Int64
	// graceUntil: after Redis lost its data or came back from an outage,
	// replicas missing from it are kept until then, so routing continues
	// while executors re-register with their next heartbeat.
	graceUntil time.Time
	// pushedInFlight says this router's in-flight entry exists in Redis.
	pushedInFlight bool
	closed         bool
}

// loop pushes and refreshes every RefreshInterval, and at once when kicked,
// until ctx is cancelled.
func (r *Redis) loop(ctx context.Context) {
	defer close(r.done)
	tick := time.NewTicker(r.opt.RefreshInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-r.kick:
		}
		sctx, cancel := context.WithTimeout(ctx, r.syncTimeout())
		_ = r.syncOnce(sctx)
		cancel()
	}
}

// syncTimeout bounds one sync: a Redis that stopped answering is noticed
// within it, whatever the client's own timeouts and retries.
func (r *Redis) syncTimeout() time.Duration { return max(2*r.opt.RefreshInterval, time.Second) }

// syncOnce pushes pending counters, then refreshes the snapshot.
func (r *Redis) syncOnce(ctx context.Context) error {
	r.sync.mu.Lock()
	defer r.sync.mu.Unlock()
	return r.syncLocked(ctx)
}

// syncOnDemand is syncOnce for a caller that must not wait on a Redis
// known to be down: during an outage it returns errOutage at once and
// leaves the retries to the background loop.
func (r *Redis) syncOnDemand(ctx context.Context) error {
	if r.inOutage() {
		return errOutage
	}
	r.sync.mu.Lock()
	defer r.sync.mu.Unlock()
	if r.sync.degraded { // the loop noticed while this caller waited
		return errOutage
	}
	return r.syncLocked(ctx)
}

// errOutage stands for the cause of an outage the background loop saw.
var errOutage = errors.New("redis did not answer the last sync; retrying in the background")

// inOutage reports whether the last sync failed; it takes no lock.
func (r *Redis) inOutage() bool { return r.t.frozenAt.Load() != 0 }

func (r *Redis) syncLocked(ctx context.Context) error {
	err := r.flush(ctx)
	if err == nil {
		err = r.refresh(ctx)
	}
	r.noteHealth(err)
	return err
}

// noteHealth logs an outage once and the recovery once.
func (r *Redis) noteHealth(err error) {
	st := &r.sync
	switch {
	case err == nil:
		if st.degraded {
			r.opt.Logger.Info("registry: redis is reachable again; routing from fresh snapshots")
		}
		st.degraded = false
		st.lastOK.Store(r.opt.Now().UnixNano())
		r.t.frozenAt.Store(0)
	case errors.Is(err, context.Canceled):
		// Shutting down or the caller gave up; says nothing about Redis.
	case !st.degraded:
		st.degraded = true
		r.t.frozenAt.Store(st.lastOK.Load())
		r.opt.Logger.Warn("registry: redis is unreachable; routing from the last snapshot until it is back", "err", err)
	}
}

// flush pushes this router's in-flight counts, new cooldowns and outcome
// stats in one script call; on failure they stay pending.
func (r *Redis) flush(ctx context.Context) error {
	st := &r.sync
	inflight := r.ownInFlight()
	switch {
	case st.closed:
		inflight = ""
	case inflight == "" && !st.pushedInFlight:
		inflight = "-"
	}
	r.mu.Lock()
	stats, cools := r.pending, r.cools
	r.pending, r.cools = map[string]*pendingStats{}, map[string]pendingCooldown{}
	r.mu.Unlock()
	if inflight == "-" && len(stats) == 0 && len(cools) == 0 {
		return nil
	}
	ttl := max(3*r.opt.RefreshInterval, 2*time.Second)
	args := []any{r.opt.RouterID, inflight, ttl.Milliseconds(), r.epoch, ewmaAlpha}
	args = append(args, cooldownArgs(cools, r.opt.Now())...)
	args = append(args, statsArgs(stats)...)
	keys := []string{r.keys.cooldowns, r.keys.stats, r.keys.inflight, r.keys.epoch}
	if err := flushScript.Run(ctx, r.rdb, keys, args...).Err(); err != nil {
		r.restore(stats, cools)
		return err
	}
	if inflight != "-" {
		st.pushedInFlight = inflight != ""
	}
	return nil
}

// ownInFlight is this router's in-flight counts as a JSON object, or "".
func (r *Redis) ownInFlight() string {
	counts := map[string]int64{}
	r.t.mu.RLock()
	for name, e := range r.t.models {
		if n := e.inFlight.Load(); n > 0 {
			counts[name] = n
		}
	}
	r.t.mu.RUnlock()
	if len(counts) == 0 {
		return ""
	}
	b, _ := json.Marshal(counts)
	return string(b)
}

// cooldownArgs are flushScript's count of cooldowns and, per cooldown,
// its model, remaining and period ms, and the failure that opened it;
// cooldowns already over are dropped.
func cooldownArgs(cools map[string]pendingCooldown, now time.Time) []any {
	args := []any{0}
	for model, c := range cools {
		if left := c.until.Sub(now); left > 0 {
			args = append(args, model, left.Milliseconds(), c.period.Milliseconds(),
				string(c.cause.code), c.cause.message, c.cause.replica)
		}
	}
	args[0] = (len(args) - 1) / 6
	return args
}

func statsArgs(stats map[string]*pendingStats) []any {
	args := make([]any, 0, 5*len(stats))
	for model, p := range stats {
		mean := 0.0
		if p.samples > 0 {
			mean = p.sumMs / float64(p.samples)
		}
		args = append(args, model, p.calls, p.errors, p.samples, mean)
	}
	return args
}

// restore puts back what a failed push took.
func (r *Redis) restore(stats map[string]*pendingStats, cools map[string]pendingCooldown) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for model, p := range stats {
		if q := r.pending[model]; q != nil {
			p.calls, p.errors, p.samples, p.sumMs = p.calls+q.calls, p.errors+q.errors, p.samples+q.samples, p.sumMs+q.sumMs
		}
		r.pending[model] = p
	}
	for model, c := range cools {
		if q, ok := r.cools[model]; !ok || c.until.After(q.until) {
			r.cools[model] = c
		}
	}
}

// refresh loads the registry from Redis into the snapshot, unless a local
// write overlapped the load.
func (r *Redis) refresh(ctx context.Context) error {
	gen := r.gen.Load()
	reply, err := refreshScript.Run(ctx, r.rdb, r.keys.all(), r.epoch).Slice()
	if err != nil {
		return err
	}
	snap, cache, err := decodeSnapshot(reply, r.opt.RouterID, r.sync.specs)
	if err != nil {
		return err
	}
	r.sync.specs = cache
	now := r.opt.Now()
	lost := r.sync.lastEpoch != "" && snap.epoch != r.sync.lastEpoch
	r.sync.lastEpoch = snap.epoch
	if lost || r.sync.degraded {
		r.sync.graceUntil = now.Add(r.opt.HeartbeatTTL)
	}
	r.t.applySnapshot(snap, now, applyOptions{
		grace:         now.Before(r.sync.graceUntil),
		graceUntil:    r.sync.graceUntil,
		pendingErrors: r.pendingErrors(),
		stale:         func() bool { return r.writing.Load() > 0 || r.gen.Load() != gen },
	})
	if lost {
		r.opt.Logger.Warn("registry: redis lost its data (restarted?); re-registering models and keeping replicas until executors heartbeat", "grace", r.opt.HeartbeatTTL)
		return r.reannounce(ctx)
	}
	return nil
}

func (r *Redis) pendingErrors() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.pending))
	for model, p := range r.pending {
		out[model] = p.errors
	}
	return out
}

// reannounce stores again the specs announced through this registry.
func (r *Redis) reannounce(ctx context.Context) error {
	r.mu.Lock()
	fields := make([]any, 0, 2*len(r.announced))
	for name, raw := range r.announced {
		fields = append(fields, name, raw)
	}
	r.mu.Unlock()
	if len(fields) == 0 {
		return nil
	}
	return r.rdb.HSet(ctx, r.keys.specs, fields...).Err()
}
