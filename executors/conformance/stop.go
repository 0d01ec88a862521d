package conformance

import (
	"context"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// testStopped checks that a call whose context is cancelled (want
// CodeCancelled) or runs out of time (want CodeTimeout) returns promptly
// with an error of that class.
func testStopped(t *testing.T, b Backend, want task.Code) {
	script := Script{Case: CaseAnswer, Answer: "An answer that must not arrive."}
	if b.Scripted {
		script = Script{Case: CaseSlow, Answer: script.Answer, Delay: 10 * Prompt}
	}
	s := b.New(t, script)
	ctx, cancel := stoppingContext(b.Scripted, want)
	defer cancel()
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := s.Model.Generate(ctx, s.Work, nil)
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(Prompt + 200*time.Millisecond):
		t.Fatalf("Generate did not return within %s of its context ending", Prompt)
	}
	if err == nil {
		t.Fatal("Generate succeeded after its context ended")
	}
	if got := task.AsError(err); got.Code != want {
		t.Errorf("error class = %s (%v), want %s", got.Code, err, want)
	}
	if took := time.Since(start); took > Prompt {
		t.Errorf("Generate took %s to return", took)
	}
}

// stoppingContext returns a context that ends as want says: mid-call for
// a scripted slow model, before the call otherwise.
func stoppingContext(midCall bool, want task.Code) (context.Context, context.CancelFunc) {
	wait := 100 * time.Millisecond
	if !midCall {
		wait = 0
	}
	if want == task.CodeTimeout {
		return context.WithDeadline(context.Background(), time.Now().Add(wait))
	}
	ctx, cancel := context.WithCancel(context.Background())
	if wait == 0 {
		cancel()
		return ctx, cancel
	}
	timer := time.AfterFunc(wait, cancel)
	return ctx, func() { timer.Stop(); cancel() }
}
