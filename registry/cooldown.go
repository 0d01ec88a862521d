package registry

import (
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// The states of a model's circuit breaker, as its log lines name them.
const (
	breakerClosed   = "closed"
	breakerOpen     = "open"
	breakerHalfOpen = "half-open"
)

// probeWaitHint is the Retry-After of a dispatch refused because the
// half-open probe is in flight: its outcome decides within moments for an
// upstream that refuses connections, and a client that comes back then is
// either served or told the new period.
const probeWaitHint = time.Second

// failure is what a breaker remembers of the failure that opened it.
type failure struct {
	code    task.Code
	message string
	replica string
}

// cooldown is one model's circuit breaker. Closed (until is zero), it
// counts consecutive failures; open (now < until), every dispatch is
// refused; half-open (until has passed), exactly one dispatch, the probe,
// may go: its success closes the breaker, its failure opens it again for
// twice the period, up to the maximum. Dispatches are admitted by admit,
// which Started calls, so no request ever waits on a breaker.
type cooldown struct {
	failures int
	until    time.Time
	period   time.Duration
	// probeUntil, when after now, means the half-open probe is in flight.
	probeUntil time.Time
	last       failure
}

// open reports whether the breaker is open at now.
func (c *cooldown) open(now time.Time) bool { return !c.until.IsZero() && now.Before(c.until) }

// halfOpen reports whether the cooldown period has passed without a
// success closing the breaker yet.
func (c *cooldown) halfOpen(now time.Time) bool { return !c.until.IsZero() && !now.Before(c.until) }

// refusal reports whether a dispatch at now would be refused, and how long
// until one may go. It changes nothing: Select uses it to leave the model
// out.
func (c *cooldown) refusal(now time.Time) (time.Duration, bool) {
	switch {
	case c.until.IsZero():
		return 0, false
	case now.Before(c.until):
		return c.until.Sub(now), true
	case now.Before(c.probeUntil):
		return min(probeWaitHint, c.probeUntil.Sub(now)), true
	}
	return 0, false
}

// admit decides a dispatch at now: refused (wait > 0), or admitted. In
// half-open state the admitted dispatch is the probe, and the breaker
// reports the change; nothing else goes until the probe finishes or a
// period passes (a router that died mid-probe must not block the model
// for ever).
func (c *cooldown) admit(now time.Time, opt *Options) (to string, wait time.Duration) {
	if wait, refused := c.refusal(now); refused {
		return "", wait
	}
	if c.until.IsZero() {
		return "", 0
	}
	c.probeUntil = now.Add(max(c.period, opt.Cooldown))
	return breakerHalfOpen, 0
}

// finished records an outcome. It reports the state the breaker moved to
// ("" when none), and whether its open period started or grew, which other
// routers should learn.
func (c *cooldown) finished(now time.Time, o Outcome, opt *Options) (to string, share bool) {
	half := c.halfOpen(now)
	switch {
	case o.OK && c.open(now):
		return "", false // a dispatch that began before the breaker opened proves little
	case o.OK && half:
		*c = cooldown{}
		return breakerClosed, false
	case o.OK:
		c.failures = 0
		return "", false
	case !countsTowardCooldown(o.Code):
		if half {
			c.probeUntil = time.Time{} // the probe learned nothing: the next dispatch probes
		}
		return "", false
	}
	c.failures++
	f := failure{code: o.Code, message: o.Message, replica: o.Replica}
	switch {
	case half:
		c.trip(now, min(max(2*c.period, opt.Cooldown), opt.MaxCooldown), o.RetryAfter, f, opt)
		return breakerOpen, true
	case c.open(now):
		return "", c.extend(now, o, f, opt)
	case o.Code == task.CodeRateLimited || c.failures >= opt.FailuresToCooldown:
		c.trip(now, opt.Cooldown, o.RetryAfter, f, opt)
		return breakerOpen, true
	}
	return "", false
}

// extend lengthens an open breaker for a later 429's Retry-After.
func (c *cooldown) extend(now time.Time, o Outcome, f failure, opt *Options) bool {
	end := now.Add(min(o.RetryAfter, opt.MaxCooldown))
	if o.Code != task.CodeRateLimited || !end.After(c.until) {
		return false
	}
	c.until, c.last = end, f
	return true
}

// trip opens the breaker for period, or for the upstream's Retry-After
// when longer; never longer than the cap, so an upstream that comes back
// is probed within MaxCooldown whatever it asked.
func (c *cooldown) trip(now time.Time, period, retryAfter time.Duration, f failure, opt *Options) {
	c.period = period
	c.until = now.Add(min(max(period, retryAfter), opt.MaxCooldown))
	c.probeUntil = time.Time{}
	c.last = f
}

// adoptSlack is how much of a shared cooldown must remain, and by how much
// it must outlast ours, for it to be adopted: converting Redis time to
// local time is off by up to a round trip, so neither a cooldown this
// router just closed nor its own cooldown read back must count as new.
const adoptSlack = 50 * time.Millisecond

// adopt takes a cooldown another router set, when it ends later than ours;
// it reports "open" when that opens a breaker that was not open.
func (c *cooldown) adopt(now, until time.Time, period time.Duration, f failure, opt *Options) string {
	until = minTime(until, now.Add(opt.MaxCooldown))
	if until.Sub(now) < adoptSlack || until.Sub(c.until) < adoptSlack {
		return ""
	}
	wasOpen := c.open(now)
	c.until = until
	c.period = max(c.period, period)
	c.probeUntil = time.Time{}
	if f.code != "" {
		c.last = f
	}
	if wasOpen {
		return ""
	}
	return breakerOpen
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
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
// pause, so it still counts. Of a tool server's failures, arguments that
// do not fit (invalid_args) and a tool's own error result (tool_error)
// are about the call, and a timeout (tool_timeout) about one tool that
// hangs, not the server's other tools; a server that dies mid-call
// (tool_failed) counts.
func countsTowardCooldown(code task.Code) bool {
	switch code {
	case task.CodeBadInput, task.CodeInvalidRequest, task.CodeInvalidPlan,
		task.CodeCancelled, task.CodeContextLength,
		task.CodeLost, task.CodeUnavailable, task.CodeOverloaded,
		task.CodeModelUnavailable, task.CodeModelNotFound, task.CodeModelLacksCapability,
		task.CodeInvalidArgs, task.CodeToolError, task.CodeToolTimeout:
		return false
	}
	return true
}
