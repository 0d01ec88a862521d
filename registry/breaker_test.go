package registry

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// logBuffer collects a registry's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// logger logs at info and above into l.
func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// lines returns the lines holding every fragment.
func (l *logBuffer) lines(fragments ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(l.buf.String(), "\n") {
		all := line != ""
		for _, f := range fragments {
			all = all && strings.Contains(line, f)
		}
		if all {
			out = append(out, line)
		}
	}
	return out
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// wantLogLines checks that exactly n lines hold every fragment.
func wantLogLines(t *testing.T, l *logBuffer, n int, fragments ...string) {
	t.Helper()
	if got := l.lines(fragments...); len(got) != n {
		t.Errorf("%d log lines hold %q, want %d; the log:\n%s", len(got), fragments, n, l)
	}
}

// TestBreakerTransitionsOnAFakeClock walks one model's breaker through
// every state with a fake clock: open after failures, refusals with the
// time to the next probe, one probe in half-open, the doubling up to the
// cap, and closing on a successful probe, each change logged once.
func TestBreakerTransitionsOnAFakeClock(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	var logs logBuffer
	r := NewMemory(WithClock(func() time.Time { return now }), WithLogger(logs.logger()),
		WithCooldown(2, 5*time.Second, 30*time.Second), WithHeartbeatTTL(time.Hour))
	ctx := context.Background()
	serve(t, r, model("m", "answer"))
	down := Outcome{Code: task.CodeUpstream, Message: `cannot reach http://127.0.0.1:9/v1 (connection refused)`, Replica: "exec-7"}
	dispatch := func(o Outcome) {
		t.Helper()
		if err := r.Started("m"); err != nil {
			t.Fatalf("at +%v: Started refused: %v", now.Sub(time.Unix(1_000_000, 0)), err)
		}
		r.Finished(ctx, "m", o)
	}
	wantWait := func(want time.Duration, fragments ...string) {
		t.Helper()
		te := wantUnavailable(t, r, answer, want, append(fragments, `"m"`, "exec-7", "connection refused")...)
		if te.RetryAfter() != want {
			t.Errorf("Select: retry after %v, want %v", te.RetryAfter(), want)
		}
		wantRefused(t, r, "m", want, fragments...)
	}

	dispatch(down)
	wantOrder(t, r, answer, "m") // one failure of two
	dispatch(down)
	wantLogLines(t, &logs, 1, "level=WARN", "model circuit open", "model=m", "replica=exec-7", "reason=\"upstream: cannot reach", "period=5s")
	wantWait(5*time.Second, "cooling down", "circuit open for 5s more")
	now = now.Add(3 * time.Second)
	wantWait(2*time.Second, "cooling down")

	// Each failed probe doubles the period: 10 s, 20 s, then 30 s, the cap.
	opened := map[time.Duration]int{}
	for _, period := range []time.Duration{10 * time.Second, 20 * time.Second, 30 * time.Second, 30 * time.Second} {
		now = now.Add(r.t.models["m"].cd.until.Sub(now))
		wantOrder(t, r, answer, "m") // half-open: selectable for the probe
		if err := r.Started("m"); err != nil {
			t.Fatalf("the probe was refused: %v", err)
		}
		wantWait(time.Second, "half-open", "probe")
		r.Finished(ctx, "m", down)
		wantWait(period, "cooling down")
		opened[period]++
		wantLogLines(t, &logs, opened[period], "level=WARN", "model circuit open", "period="+period.String())
	}
	wantLogLines(t, &logs, 4, "level=INFO", "model circuit half-open", "model=m", "replica=exec-7", "reason=\"upstream: cannot reach")

	// The upstream is back: the next probe closes the breaker.
	now = now.Add(30 * time.Second)
	dispatch(Outcome{OK: true, Replica: "exec-8"})
	wantLogLines(t, &logs, 1, "level=INFO", "model circuit closed", "model=m", "replica=exec-8")
	for range 3 {
		if err := r.Started("m"); err != nil {
			t.Fatalf("a closed breaker refused: %v", err)
		}
	}
	if s := modelState(t, r, "m"); s.State != StateReady || s.InFlight != 3 {
		t.Errorf("after closing: %s with %d in flight, want ready with 3", s.State, s.InFlight)
	}
	wantLogLines(t, &logs, 5, "model circuit open")
}

// TestBreakerStateInModels: Models shows an open breaker as cooldown and
// one whose period is over as half-open until a probe closes it.
func TestBreakerStateInModels(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	r := NewMemory(WithClock(func() time.Time { return now }), WithCooldown(1, 5*time.Second, 30*time.Second), WithHeartbeatTTL(time.Hour))
	serve(t, r, model("m", "answer"))
	fail(r, "m", task.CodeUpstream, 0, 1)
	steps := []struct {
		after time.Duration
		want  string
	}{{0, StateCooldown}, {5 * time.Second, StateHalfOpen}}
	for _, st := range steps {
		now = now.Add(st.after)
		if s := modelState(t, r, "m"); s.State != st.want {
			t.Errorf("+%v: state %s, want %s", st.after, s.State, st.want)
		}
	}
	recordLatency(r, "m", time.Millisecond, 1)
	if s := modelState(t, r, "m"); s.State != StateReady {
		t.Errorf("after a successful probe: state %s, want %s", s.State, StateReady)
	}
}
