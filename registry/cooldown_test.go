package registry

import (
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// step is one event on a breaker at offset at: a dispatch asking to start
// (start), an outcome, or just a look; then what the breaker did and
// whether it refuses dispatches, until which offset.
type step struct {
	at        time.Duration
	start     bool
	outcome   *Outcome
	wantTo    string // the state it moved to: "", open, half-open, closed
	wantShare bool   // the outcome opened or extended the cooldown
	refused   bool   // a dispatch now would be refused
	untilAt   time.Duration
}

func failed(code task.Code, retryAfter time.Duration) *Outcome {
	return &Outcome{Code: code, RetryAfter: retryAfter, Message: "it failed", Replica: "r1"}
}

var succeeded = &Outcome{OK: true, Replica: "r2"}

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
			{at: 2 * s, outcome: failed(task.CodeInternal, 0), wantTo: breakerOpen, wantShare: true, refused: true, untilAt: 12 * s},
			{at: 11 * s, refused: true, untilAt: 12 * s},
			{at: 12 * s},
		}},
		{"an open breaker refuses every dispatch", []step{
			{at: 0, outcome: failed(task.CodeRateLimited, 0), wantTo: breakerOpen, wantShare: true, refused: true, untilAt: 10 * s},
			{at: 5 * s, start: true, refused: true, untilAt: 10 * s},
			{at: 9 * s, start: true, refused: true, untilAt: 10 * s},
		}},
		{"caller errors do not count", []step{
			{at: 0, outcome: failed(task.CodeBadInput, 0)},
			{at: 0, outcome: failed(task.CodeInvalidRequest, 0)},
			{at: 0, outcome: failed(task.CodeCancelled, 0)},
			{at: 0, outcome: failed(task.CodeContextLength, 0)},
			{at: 0, outcome: failed(task.CodeModelUnavailable, 0)},
			{at: 0, outcome: failed(task.CodeUpstream, 0)},
			{at: 0, outcome: failed(task.CodeUpstream, 0)},
		}},
		{"lost and unavailable replicas do not count", []step{
			{at: 0, outcome: failed(task.CodeUpstream, 0)},
			{at: 0, outcome: failed(task.CodeLost, 0)},
			{at: 0, outcome: failed(task.CodeUnavailable, 0)},
			{at: 0, outcome: failed(task.CodeLost, 0)},
			{at: 0, outcome: failed(task.CodeUpstream, 0)},
			{at: s, outcome: failed(task.CodeUpstream, 0), wantTo: breakerOpen, wantShare: true, refused: true, untilAt: 11 * s},
		}},
		{"overloaded executors do not count", []step{
			{at: 0, outcome: failed(task.CodeUpstream, 0)},
			{at: 0, outcome: failed(task.CodeOverloaded, 0)},
			{at: 0, outcome: failed(task.CodeOverloaded, 5*s)},
			{at: 0, outcome: failed(task.CodeOverloaded, 0)},
			{at: 0, outcome: failed(task.CodeUpstream, 0)},
			{at: s, outcome: failed(task.CodeUpstream, 0), wantTo: breakerOpen, wantShare: true, refused: true, untilAt: 11 * s},
		}},
		{"success resets the count", []step{
			{at: 0, outcome: failed(task.CodeUpstream, 0)},
			{at: 0, outcome: failed(task.CodeUpstream, 0)},
			{at: 0, outcome: succeeded},
			{at: 0, outcome: failed(task.CodeUpstream, 0)},
			{at: 0, outcome: failed(task.CodeUpstream, 0)},
		}},
		{"429 opens at once for its Retry-After", []step{
			{at: 0, outcome: failed(task.CodeRateLimited, 25*s), wantTo: breakerOpen, wantShare: true, refused: true, untilAt: 25 * s},
			{at: 2 * s, outcome: failed(task.CodeRateLimited, 26*s), wantShare: true, refused: true, untilAt: 28 * s},
			{at: 6 * s, outcome: failed(task.CodeRateLimited, s), refused: true, untilAt: 28 * s},
			{at: 7 * s, outcome: succeeded, refused: true, untilAt: 28 * s}, // began before it opened
		}},
		{"a Retry-After beyond the cap is capped", []step{
			{at: 0, outcome: failed(task.CodeRateLimited, time.Hour), wantTo: breakerOpen, wantShare: true, refused: true, untilAt: 30 * s},
			{at: 5 * s, outcome: failed(task.CodeRateLimited, time.Hour), wantShare: true, refused: true, untilAt: 35 * s},
		}},
		{"429 without Retry-After waits the period", []step{
			{at: 0, outcome: failed(task.CodeRateLimited, 0), wantTo: breakerOpen, wantShare: true, refused: true, untilAt: 10 * s},
		}},
		{"half-open admits one probe; failure doubles, up to the cap", []step{
			{at: 0, outcome: failed(task.CodeRateLimited, 0), wantTo: breakerOpen, wantShare: true, refused: true, untilAt: 10 * s},
			{at: 10 * s, start: true, wantTo: breakerHalfOpen, refused: true, untilAt: 11 * s},
			{at: 10 * s, start: true, refused: true, untilAt: 11 * s}, // the probe is taken
			{at: 11 * s, outcome: failed(task.CodeUpstream, 0), wantTo: breakerOpen, wantShare: true, refused: true, untilAt: 31 * s},
			{at: 31 * s, start: true, wantTo: breakerHalfOpen, refused: true, untilAt: 32 * s},
			{at: 32 * s, outcome: failed(task.CodeUpstream, 0), wantTo: breakerOpen, wantShare: true, refused: true, untilAt: 62 * s}, // 40s capped at 30s
			{at: 62 * s, start: true, wantTo: breakerHalfOpen, refused: true, untilAt: 63 * s},
			{at: 63 * s, outcome: failed(task.CodeUpstream, 0), wantTo: breakerOpen, wantShare: true, refused: true, untilAt: 93 * s},
		}},
		{"a probe that never finishes frees the model after a period", []step{
			{at: 0, outcome: failed(task.CodeRateLimited, 0), wantTo: breakerOpen, wantShare: true, refused: true, untilAt: 10 * s},
			{at: 10 * s, start: true, wantTo: breakerHalfOpen, refused: true, untilAt: 11 * s},
			{at: 19*s + 500*time.Millisecond, refused: true, untilAt: 20 * s},
			{at: 20 * s, start: true, wantTo: breakerHalfOpen, refused: true, untilAt: 21 * s},
		}},
		{"a lost probe learned nothing: the next dispatch probes", []step{
			{at: 0, outcome: failed(task.CodeRateLimited, 0), wantTo: breakerOpen, wantShare: true, refused: true, untilAt: 10 * s},
			{at: 10 * s, start: true, wantTo: breakerHalfOpen, refused: true, untilAt: 11 * s},
			{at: 11 * s, outcome: failed(task.CodeLost, 0)},
			{at: 11 * s, start: true, wantTo: breakerHalfOpen, refused: true, untilAt: 12 * s},
			{at: 12 * s, outcome: failed(task.CodeOverloaded, 0)},
			{at: 12 * s, start: true, wantTo: breakerHalfOpen, refused: true, untilAt: 13 * s},
			{at: 13 * s, outcome: succeeded, wantTo: breakerClosed},
		}},
		{"successful probe closes", []step{
			{at: 0, outcome: failed(task.CodeRateLimited, 0), wantTo: breakerOpen, wantShare: true, refused: true, untilAt: 10 * s},
			{at: 10 * s, start: true, wantTo: breakerHalfOpen, refused: true, untilAt: 11 * s},
			{at: 12 * s, outcome: succeeded, wantTo: breakerClosed},
			{at: 12 * s, start: true},
			{at: 12 * s, start: true},
			{at: 12 * s, outcome: failed(task.CodeUpstream, 0)},
		}},
		{"after closing, the period starts over", []step{
			{at: 0, outcome: failed(task.CodeRateLimited, 0), wantTo: breakerOpen, wantShare: true, refused: true, untilAt: 10 * s},
			{at: 10 * s, start: true, wantTo: breakerHalfOpen, refused: true, untilAt: 11 * s},
			{at: 10 * s, outcome: failed(task.CodeUpstream, 0), wantTo: breakerOpen, wantShare: true, refused: true, untilAt: 30 * s},
			{at: 30 * s, start: true, wantTo: breakerHalfOpen, refused: true, untilAt: 31 * s},
			{at: 30 * s, outcome: succeeded, wantTo: breakerClosed},
			{at: 40 * s, outcome: failed(task.CodeRateLimited, 0), wantTo: breakerOpen, wantShare: true, refused: true, untilAt: 50 * s},
		}},
	}
	base := time.Unix(1_000_000, 0)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c cooldown
			for i, st := range tc.steps {
				now := base.Add(st.at)
				to := ""
				if st.start {
					to, _ = c.admit(now, &opt)
				}
				if st.outcome != nil {
					var shared bool
					if to, shared = c.finished(now, *st.outcome, &opt); shared != st.wantShare {
						t.Errorf("step %d: finished reported a change to share %v, want %v", i, shared, st.wantShare)
					}
				}
				if to != st.wantTo {
					t.Errorf("step %d at %v: moved to %q, want %q", i, st.at, to, st.wantTo)
				}
				wait, refused := c.refusal(now)
				if refused != st.refused || (refused && wait != st.untilAt-st.at) {
					t.Fatalf("step %d at %v: refused %v for %v, want %v until %v", i, st.at, refused, wait, st.refused, st.untilAt)
				}
			}
		})
	}
}

func TestCooldownAdopt(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	opt := Options{Cooldown: time.Second, MaxCooldown: 30 * time.Second}
	tests := []struct {
		name       string
		localUntil time.Duration // zero: closed
		remote     time.Duration
		wantUntil  time.Duration // zero: stays closed
		wantTo     string
	}{
		{"closed adopts a later cooldown", 0, 5 * time.Second, 5 * time.Second, breakerOpen},
		{"an ended cooldown is ignored", 0, -time.Second, 0, ""},
		{"a cooldown within the clock slack is ignored", 0, adoptSlack / 2, 0, ""},
		{"an earlier one does not shorten ours", 8 * time.Second, 5 * time.Second, 8 * time.Second, ""},
		{"our own, read back a little later, is no news", 8 * time.Second, 8*time.Second + adoptSlack/2, 8 * time.Second, ""},
		{"a later one extends ours", 3 * time.Second, 5 * time.Second, 5 * time.Second, ""},
		{"one beyond the cap is capped", 0, time.Hour, 30 * time.Second, breakerOpen},
	}
	for _, tc := range tests {
		var c cooldown
		if tc.localUntil != 0 {
			c.until = now.Add(tc.localUntil)
		}
		to := c.adopt(now, now.Add(tc.remote), time.Second, failure{code: task.CodeUpstream, message: "down", replica: "x"}, &opt)
		want := time.Time{}
		if tc.wantUntil != 0 {
			want = now.Add(tc.wantUntil)
		}
		if !c.until.Equal(want) || to != tc.wantTo {
			t.Errorf("%s: until %v, moved to %q; want %v, %q", tc.name, c.until, to, want, tc.wantTo)
		}
	}
}
