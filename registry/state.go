package registry

import (
	"slices"
	"strings"
	"time"
)

// The states of ModelState.State.
const (
	StateReady    = "ready"
	StateCooldown = "cooldown"
	StateHalfOpen = "half-open"
	StateDown     = "down"
)

// list returns every announced model with its live replicas, sorted by name.
func (t *table) list(now time.Time) []ModelState {
	live := t.liveAt(now)
	t.mu.RLock()
	out := make([]ModelState, 0, len(t.models))
	for _, e := range t.models {
		if e.hasSpec {
			out = append(out, e.stateLocked(now, live))
		}
	}
	t.mu.RUnlock()
	slices.SortFunc(out, func(a, b ModelState) int { return strings.Compare(a.Spec.Name, b.Spec.Name) })
	return out
}

// stateLocked needs table.mu held for reading.
func (e *entry) stateLocked(now time.Time, live int64) ModelState {
	own := int(e.inFlight.Load())
	s := ModelState{Spec: e.spec, Replicas: []Replica{}, InFlight: own + e.peerInFlight, Dispatching: own}
	for _, r := range e.replicas {
		if r.expires > live {
			s.Replicas = append(s.Replicas, r.Replica)
			s.InFlight += r.InFlight
		}
	}
	slices.SortFunc(s.Replicas, func(a, b Replica) int { return strings.Compare(a.ID, b.ID) })
	e.mu.Lock()
	s.LatencyEWMAms, s.Errors, s.ConsecutiveErr, s.Usage = e.ewmaMs, e.errors, e.cd.failures, e.usage
	if e.cd.open(now) {
		s.CooldownUntil = e.cd.until
	}
	halfOpen := e.cd.halfOpen(now)
	e.mu.Unlock()
	s.Circuit = CircuitClosed
	switch {
	case !s.CooldownUntil.IsZero():
		s.Circuit = CircuitOpen
	case halfOpen:
		s.Circuit = CircuitHalfOpen
	}
	switch {
	case len(s.Replicas) == 0:
		s.State = StateDown
	case !s.CooldownUntil.IsZero():
		s.State = StateCooldown
	case halfOpen:
		s.State = StateHalfOpen
	default:
		s.State = StateReady
	}
	return s
}
