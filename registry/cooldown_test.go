package registry

import (
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// step is one event on a breaker: at offset, a start, an outcome, or just
// a look; then whether the model is blocked and until which offset.
type step struct {
	at        time.Duration
	start     bool
	outcome   *Outcome
	blocked   bool
	untilAt   time.Duration
	wantShare bool // the outcome opened or extended the cooldown
}

func failed(code task.Code, retryAfter time.Duration) *Outcome {
	return &Outcome{Code: code, RetryAfter: retryAfter}
}

var succeeded = &Outcome{OK: true}

func TestCooldownSteps(t *testing.T) {
	opt := Options{FailuresToCooldown: 3, Cooldown: 10 * time.Second, MaxCooldown: 30 * time.Second}
	s := time.Second
	tests := []struct {
		name  string
		steps []step
	}{
		{"three failures open it", []step{
			{at: 0, outcome: failed(task.CodeUpstream, 0)},
			{at: s, outcome: failed(task.CodeTimeout, 0)},
			{at: 2 * s, outcome: failed(task.CodeInternal, 0), blocked: true, untilAt: 12 * s, wantShare: true},
			{at: 11 * s, blocked: true, untilAt: 12 * s},
			{at: 12 * s},
		}},
		{"caller errors do not count", []step{
			{at: 0, outcome: failed(task.CodeBadInput, 0)},
			{at: 0, outcome: failed(task.CodeInvalidRequest, 0)},
			{at: 0, outcome: failed(task.CodeCancelled, 0)},
			{at: 0, outcome: failed(task.CodeContextLength, 0)},
			{at: 0, outcome: failed(task.CodeUpstream, 0)},
			{at: 0, outcome: failed(task.CodeUpstream, 0)},
		}},
		{"lost and unavailable replicas do not count", []step{
			{at: 0, outcome: failed(task.CodeUpstream, 0)},
			{at: 0, outcome: failed(task.CodeLost, 0)},
			{at: 0, outcome: failed(task.CodeUnavailable, 0)},
			{at: 0, outcome: failed(task.CodeLost, 0)},
			{at: 0, outcome: failed(task.CodeUpstream, 0)},
			{at: s, outcome: failed(task.CodeUpstream, 0), blocked: true, untilAt: 11 * s, wantShare: true},
		}},
		{"overloaded executors do not count", []step{
			{at: 0, outcome: failed(task.CodeUpstream, 0)},
			{at: 0, outcome: failed(task.CodeOverloaded, 0)},
			{at: 0, outcome: failed(task.CodeOverloaded, 5*s)},
			{at: 0, outcome: failed(task.CodeOverloaded, 0)},
			{at: 0, outcome: failed(task.CodeUpstream, 0)},
			{at: s, outcome: failed(task.CodeUpstream, 0), blocked: true, untilAt: 11 * s, wantShare: true},
		}},
		{"an overloaded probe neither closes nor doubles", []step{
			{at: 0, outcome: failed(task.CodeRateLimited, 0), blocked: true, untilAt: 10 * s, wantShare: true},
			{at: 10 * s, start: true, blocked: true, untilAt: 20 * s},
			{at: 11 * s, outcome: failed(task.CodeOverloaded, 0), blocked: true, untilAt: 20 * s},
			{at: 20 * s},
		}},
		{"a lost probe neither closes nor doubles", []step{
			{at: 0, outcome: failed(task.CodeRateLimited, 0), blocked: true, untilAt: 10 * s, wantShare: true},
			{at: 10 * s, start: true, blocked: true, untilAt: 20 * s},
			{at: 11 * s, outcome: failed(task.CodeLost, 0), blocked: true, untilAt: 20 * s},
			{at: 20 * s},
		}},
		{"success resets the count", []step{
			{at: 0, outcome: failed(task.CodeUpstream, 0)},
			{at: 0, outcome: failed(task.CodeUpstream, 0)},
			{at: 0, outcome: succeeded},
			{at: 0, outcome: failed(task.CodeUpstream, 0)},
			{at: 0, outcome: failed(task.CodeUpstream, 0)},
		}},
		{"429 opens at once for its Retry-After", []step{
			{at: 0, outcome: failed(task.CodeRateLimited, 25*s), blocked: true, untilAt: 25 * s, wantShare: true},
			{at: 5 * s, outcome: failed(task.CodeRateLimited, 40*s), blocked: true, untilAt: 45 * s, wantShare: true},
			{at: 6 * s, outcome: failed(task.CodeRateLimited, s), blocked: true, untilAt: 45 * s},
			{at: 7 * s, outcome: succeeded, blocked: true, untilAt: 45 * s},
		}},
		{"429 without Retry-After waits the period", []step{
			{at: 0, outcome: failed(task.CodeRateLimited, 0), blocked: true, untilAt: 10 * s, wantShare: true},
		}},
		{"half-open admits one probe; failure doubles", []step{
			{at: 0, outcome: failed(task.CodeRateLimited, 0), blocked: true, untilAt: 10 * s, wantShare: true},
			{at: 10 * s, start: true, blocked: true, untilAt: 20 * s},
			{at: 11 * s, outcome: failed(task.CodeUpstream, 0), blocked: true, untilAt: 31 * s, wantShare: true},
			{at: 31 * s, start: true, blocked: true, untilAt: 51 * s},
			{at: 32 * s, outcome: failed(task.CodeUpstream, 0), blocked: true, untilAt: 62 * s, wantShare: true}, // capped at 30s
		}},
		{"a lost probe frees the model after a period", []step{
			{at: 0, outcome: failed(task.CodeRateLimited, 0), blocked: true, untilAt: 10 * s, wantShare: true},
			{at: 10 * s, start: true, blocked: true, untilAt: 20 * s},
			{at: 20 * s},
		}},
		{"successful probe closes", []step{
			{at: 0, outcome: failed(task.CodeRateLimited, 0), blocked: true, untilAt: 10 * s, wantShare: true},
			{at: 10 * s, start: true, blocked: true, untilAt: 20 * s},
			{at: 12 * s, outcome: succeeded},
			{at: 12 * s, outcome: failed(task.CodeUpstream, 0)},
		}},
	}
	base := time.Unix(1_000_000, 0)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c cooldown
			for i, st := range tc.steps {
				now := base.Add(st.at)
				if st.start {
					c.started(now)
				}
				if st.outcome != nil {
					if shared := c.finished(now, *st.outcome, &opt); shared != st.wantShare {
						t.Errorf("step %d: finished reported change %v, want %v", i, shared, st.wantShare)
					}
				}
				until, blocked := c.blockedUntil(now)
				if blocked != st.blocked || (blocked && !until.Equal(base.Add(st.untilAt))) {
					t.Fatalf("step %d at %v: blocked %v until %v, want %v until %v", i, st.at, blocked, until.Sub(base), st.blocked, st.untilAt)
				}
			}
		})
	}
}

func TestCooldownAdopt(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	tests := []struct {
		name       string
		localUntil time.Duration // zero: closed
		remote     time.Duration
		wantUntil  time.Duration // zero: stays closed
	}{
		{"closed adopts a later cooldown", 0, 5 * time.Second, 5 * time.Second},
		{"an ended cooldown is ignored", 0, -time.Second, 0},
		{"a cooldown within the clock slack is ignored", 0, adoptSlack / 2, 0},
		{"an earlier one does not shorten ours", 8 * time.Second, 5 * time.Second, 8 * time.Second},
		{"a later one extends ours", 3 * time.Second, 5 * time.Second, 5 * time.Second},
	}
	for _, tc := range tests {
		var c cooldown
		if tc.localUntil != 0 {
			c.until = now.Add(tc.localUntil)
		}
		c.adopt(now, now.Add(tc.remote), time.Second)
		want := time.Time{}
		if tc.wantUntil != 0 {
			want = now.Add(tc.wantUntil)
		}
		if !c.until.Equal(want) {
			t.Errorf("%s: until %v, want %v", tc.name, c.until, want)
		}
	}
}
