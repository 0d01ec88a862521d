package registry

import (
	"fmt"
	"strings"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// breakerEvent is a change of a model's circuit breaker, logged once the
// entry's lock is released.
type breakerEvent struct {
	model, to string
	// replica is the executor whose failure or success caused the change;
	// for half-open, the one whose failure opened the breaker.
	replica string
	cause   failure
	period  time.Duration
	until   time.Time
	shared  bool // adopted from a cooldown another router set
}

// eventLocked describes the breaker's move to state to ("" for none);
// e.mu must be held.
func (e *entry) eventLocked(to, replica string, now time.Time) breakerEvent {
	if to == "" {
		return breakerEvent{}
	}
	until := e.cd.until
	if to == breakerHalfOpen {
		until = e.cd.probeUntil
	}
	return breakerEvent{model: e.name, to: to, replica: replica, cause: e.cd.last, period: e.cd.period, until: until}
}

// logBreaker writes one line per state change: open at warn, half-open
// and closed at info.
func (t *table) logBreaker(ev breakerEvent) {
	l := t.opt.Logger
	switch ev.to {
	case breakerOpen:
		l.Warn("registry: model circuit open; its dispatches are refused until the cooldown ends",
			"model", ev.model, "replica", ev.replica, "reason", ev.cause.reason(), "period", ev.period,
			"until", ev.until, "shared", ev.shared)
	case breakerHalfOpen:
		l.Info("registry: model circuit half-open; one probe dispatch let through",
			"model", ev.model, "replica", ev.replica, "reason", ev.cause.reason(), "period", ev.period, "probe_until", ev.until)
	case breakerClosed:
		l.Info("registry: model circuit closed; the probe succeeded", "model", ev.model, "replica", ev.replica)
	}
}

// reason is the failure as "code: message".
func (f failure) reason() string {
	if f.code == "" {
		return "not known here (another router saw the failure)"
	}
	return string(f.code) + ": " + f.message
}

// text says what failed, for error messages.
func (f failure) text() string {
	if f.replica == "" {
		return f.reason()
	}
	return fmt.Sprintf("replica %s: %s", f.replica, f.reason())
}

// describe says what state a refusing breaker is in and why, for errors.
func (c *cooldown) describe(now time.Time) string {
	if c.open(now) {
		return fmt.Sprintf("cooling down (circuit open for %s more, period %s) after failing; last failure: %s",
			roundUp(c.until.Sub(now)), c.period, c.last.text())
	}
	return fmt.Sprintf("half-open: its one probe dispatch is in flight (last failure: %s)", c.last.text())
}

// refusalLocked is the error of a dispatch the breaker refused; e.mu must
// be held.
func (e *entry) refusalLocked(now time.Time, wait time.Duration) *task.Error {
	return modelUnavailable("", []string{e.blockedLocked(now)}, wait)
}

// blockedLocked says why the model refuses dispatches; e.mu must be held.
func (e *entry) blockedLocked(now time.Time) string {
	return fmt.Sprintf("model %q is %s", e.name, e.cd.describe(now))
}

// blockedParts describes candidates whose breakers refuse, and the
// shortest wait among them.
func blockedParts(cands []candidate, list []*entry, now time.Time) ([]string, time.Duration) {
	parts := make([]string, 0, len(cands))
	wait := time.Duration(-1)
	for _, c := range cands {
		e := list[c.idx]
		e.mu.Lock()
		parts = append(parts, e.blockedLocked(now))
		e.mu.Unlock()
		if wait < 0 || time.Duration(c.wait) < wait {
			wait = time.Duration(c.wait)
		}
	}
	return parts, wait
}

// modelUnavailable is the CodeModelUnavailable error: what cannot serve and
// why (one clause per model, after an optional heading), and when to try
// again.
func modelUnavailable(heading string, parts []string, wait time.Duration) *task.Error {
	wait = max(wait, time.Millisecond)
	err := task.Errorf(task.CodeModelUnavailable, "%s%s; retry after %s", heading, strings.Join(parts, "; "), roundUp(wait))
	err.RetryAfterMs = (wait + time.Millisecond - 1).Milliseconds()
	return err
}

// roundUp rounds d up to a tenth of a second, for messages.
func roundUp(d time.Duration) time.Duration {
	const tenth = 100 * time.Millisecond
	return (d + tenth - 1) / tenth * tenth
}
