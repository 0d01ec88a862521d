package registry

import (
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// cooldown is one model's circuit breaker. Closed, it counts consecutive
// failures; open (now < until), the model is skipped; half-open (until has
// passed), one probe dispatch may go: its success closes the breaker, its
// failure opens it again for twice the period, up to the maximum.
type cooldown struct {
	failures int
	until    time.Time
	period   time.Duration
	// probeUntil, when after now, means a half-open probe is in flight.
	probeUntil time.Time
}

// blockedUntil reports whether the model must be skipped at now, and until
// when.
func (c *cooldown) blockedUntil(now time.Time) (time.Time, bool) {
	switch {
	case c.until.IsZero():
		return time.Time{}, false
	case now.Before(c.until):
		return c.until, true
	case now.Before(c.probeUntil):
		return c.probeUntil, true
	}
	return time.Time{}, false
}

// open reports whether the breaker is open at now, for display.
func (c *cooldown) open(now time.Time) bool { return !c.until.IsZero() && now.Before(c.until) }

// halfOpen reports whether the cooldown period has passed without a
// success closing the breaker yet.
func (c *cooldown) halfOpen(now time.Time) bool { return !c.until.IsZero() && !now.Before(c.until) }

// started records a dispatch; in half-open state it is the probe, and no
// other dispatch goes until it finishes or a period passes.
func (c *cooldown) started(now time.Time) {
	if c.halfOpen(now) && !now.Before(c.probeUntil) {
		c.probeUntil = now.Add(c.period)
	}
}

// finished records an outcome and reports whether the breaker opened or its
// open period grew, which other routers should learn.
func (c *cooldown) finished(now time.Time, o Outcome, opt *Options) bool {
	if o.OK {
		c.succeeded(now)
		return false
	}
	if !countsTowardCooldown(o.Code) {
		return false
	}
	c.failures++
	switch {
	case c.halfOpen(now):
		return c.trip(now, min(max(2*c.period, opt.Cooldown), opt.MaxCooldown), o.RetryAfter)
	case c.open(now):
		if o.Code == task.CodeRateLimited && now.Add(o.RetryAfter).After(c.until) {
			c.until = now.Add(o.RetryAfter)
			return true
		}
		return false
	case o.Code == task.CodeRateLimited || c.failures >= opt.FailuresToCooldown:
		return c.trip(now, opt.Cooldown, o.RetryAfter)
	}
	return false
}

func (c *cooldown) succeeded(now time.Time) {
	if c.open(now) {
		// A dispatch that began before the breaker opened proves little.
		return
	}
	*c = cooldown{}
}

func (c *cooldown) trip(now time.Time, period, retryAfter time.Duration) bool {
	c.period = period
	c.until = now.Add(max(period, retryAfter))
	c.probeUntil = time.Time{}
	return true
}

// adoptSlack is how much of a shared cooldown must remain for it to be
// adopted: converting Redis time to local time is off by up to a round
// trip, and a cooldown this router just closed must not come back from it.
const adoptSlack = 50 * time.Millisecond

// adopt takes a cooldown another router set, when it ends later than ours.
func (c *cooldown) adopt(now, until time.Time, period time.Duration) {
	if until.Sub(now) < adoptSlack || !until.After(c.until) {
		return
	}
	c.until = until
	c.period = max(c.period, period)
	c.probeUntil = time.Time{}
}

// countsTowardCooldown reports whether a failure says something about the
// model's health rather than about the input, the caller or one replica.
// A lost or unavailable dispatch means an executor died or none was
// listening: heartbeat expiry removes a dead replica and the router retries
// at once, so cooling the whole model down would stall requests its healthy
// replicas could serve. An overloaded one is an executor refusing work
// because its queue is full: backpressure, which the router answers by
// trying the next candidate and the load in heartbeats already weighs, so
// a burst of load must not make a healthy model unselectable. An
// upstream's 429 (rate_limited) is different: the provider asked for a
// pause, so it still counts.
func countsTowardCooldown(code task.Code) bool {
	switch code {
	case task.CodeBadInput, task.CodeInvalidRequest, task.CodeInvalidPlan,
		task.CodeCancelled, task.CodeContextLength,
		task.CodeLost, task.CodeUnavailable, task.CodeOverloaded:
		return false
	}
	return true
}
