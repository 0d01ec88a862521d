package registry

import (
	"slices"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// applyOptions steer how a Redis snapshot replaces the table.
type applyOptions struct {
	// grace keeps replicas missing from the snapshot until graceUntil.
	grace      bool
	graceUntil time.Time
	// pendingErrors are failures not yet pushed, added to the shared count.
	pendingErrors map[string]int
	// stale, checked under the table lock, skips a snapshot that a local
	// write overlapped.
	stale func() bool
}

// applySnapshot makes the table what Redis holds, keeping this router's own
// counters and merging cooldowns that end later than its own. It reports
// whether the snapshot was applied.
func (t *table) applySnapshot(s snapshot, now time.Time, o applyOptions) bool {
	// Server milliseconds plus offset are local nanoseconds.
	offset := now.UnixNano() - s.now*int64(time.Millisecond)
	keepAfter := t.liveAt(now)
	var opened []breakerEvent
	defer func() {
		for _, ev := range opened {
			t.logBreaker(ev)
		}
	}()
	t.mu.Lock()
	defer t.mu.Unlock()
	if o.stale != nil && o.stale() {
		return false
	}
	for name := range s.specs {
		t.entryLocked(name)
	}
	for name := range s.replicas {
		t.entryLocked(name)
	}
	for _, e := range t.models {
		spec, ok := s.specs[e.name]
		switch {
		case ok:
			t.setSpecLocked(e, spec)
		case !o.grace:
			e.hasSpec = false
		}
		e.replicas = mergeReplicas(s.replicas[e.name], offset, e.replicas, o, keepAfter)
		e.peerInFlight = s.peerInFlight[e.name]
		if ev := e.applyShared(s, now, offset, o.pendingErrors[e.name], t.opt); ev.to != "" {
			opened = append(opened, ev)
		}
	}
	t.reindexLocked()
	return true
}

// mergeReplicas converts fresh replicas to local time and, in grace, keeps
// the old ones still live that the snapshot lacks.
func mergeReplicas(fresh []replicaSlot, offset int64, old []replicaSlot, o applyOptions, keepAfter int64) []replicaSlot {
	out := make([]replicaSlot, 0, len(fresh))
	for _, r := range fresh {
		r.expires = r.expires*int64(time.Millisecond) + offset
		out = append(out, r)
	}
	if !o.grace {
		return out
	}
	for _, r := range old {
		known := slices.ContainsFunc(out, func(f replicaSlot) bool { return f.ID == r.ID })
		if !known && r.expires > keepAfter {
			r.expires = max(r.expires, o.graceUntil.UnixNano())
			out = append(out, r)
		}
	}
	return out
}

// applyShared takes the shared cooldown and stats of the model; it
// returns the breaker's change when the shared cooldown opened it.
func (e *entry) applyShared(s snapshot, now time.Time, offset int64, pendingErrors int, opt *Options) breakerEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	var ev breakerEvent
	if c, ok := s.cooldowns[e.name]; ok {
		until := time.Unix(0, c.UntilMs*int64(time.Millisecond)+offset)
		cause := failure{code: task.Code(c.Code), message: c.Reason, replica: c.Replica}
		to := e.cd.adopt(now, until, time.Duration(c.PeriodMs)*time.Millisecond, cause, opt)
		ev = e.eventLocked(to, cause.replica, now)
		ev.shared = true
	}
	if st, ok := s.stats[e.name]; ok {
		if st.LatencyEWMAms > 0 {
			e.ewmaMs = st.LatencyEWMAms
		}
		e.errors = st.Errors + pendingErrors
	}
	return ev
}
