package executors_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/task"
)

type blockingModel struct {
	release chan struct{}
	started chan string
}

func (m blockingModel) Generate(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
	m.started <- w.SubtaskID
	select {
	case <-m.release:
		return task.Output{Text: "done " + w.SubtaskID}, nil
	case <-ctx.Done():
		return task.Output{}, ctx.Err()
	}
}

type harness struct {
	nc  *nats.Conn
	ex  *executors.Executor
	reg *registry.Memory
}

func start(t *testing.T, m executors.Model, concurrency, maxQueue int) harness {
	t.Helper()
	return startWith(t, m, concurrency, executors.Config{MaxQueue: maxQueue, KeepAlive: time.Hour})
}

// startWith starts an executor of the built-in model "m" with cfg's
// tuning.
func startWith(t *testing.T, m executors.Model, concurrency int, cfg executors.Config) harness {
	t.Helper()
	return startBackend(t, m, task.BackendLocal, concurrency, cfg)
}

// startBackend starts an executor of model "m" of backend with cfg's tuning.
func startBackend(t *testing.T, m executors.Model, backend string, concurrency int, cfg executors.Config) harness {
	t.Helper()
	b, err := bus.Start(context.Background(), bus.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	enc, _ := b.Connect("executor")
	client, _ := b.Connect("client")
	reg := registry.NewMemory()
	spec := task.ModelSpec{Name: "m", Backend: backend, Capabilities: []string{"x"}, Concurrency: concurrency}
	cfg.ID, cfg.Announcer, cfg.Models = "e1", reg, []executors.Served{{Spec: spec, Model: m}}
	ex, err := executors.Start(context.Background(), enc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ex.Stop)
	return harness{nc: client, ex: ex, reg: reg}
}

// send dispatches one subtask and returns a channel of its replies.
func (h harness) send(t *testing.T, requestID, id string) <-chan task.Reply {
	t.Helper()
	out := make(chan task.Reply, 16)
	inbox := nats.NewInbox()
	_, err := h.nc.Subscribe(inbox, func(m *nats.Msg) {
		var r task.Reply
		if err := json.Unmarshal(m.Data, &r); err != nil {
			t.Errorf("decoding reply: %v", err)
		}
		out <- r
	})
	if err != nil {
		t.Fatal(err)
	}
	w, _ := json.Marshal(task.Work{RequestID: requestID, SubtaskID: id, Model: "m", Capability: "x", Input: "in"})
	if err := h.nc.PublishRequest(task.ModelSubject("m"), inbox, w); err != nil {
		t.Fatal(err)
	}
	return out
}

func next(t *testing.T, ch <-chan task.Reply) task.Reply {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no reply")
	}
	return task.Reply{}
}

// answer returns the answer to a subtask that was taken: its result or
// error, after "accepted" or, for quick work, in its place (with
// ElapsedUs).
func answer(t *testing.T, ch <-chan task.Reply) task.Reply {
	t.Helper()
	r := next(t, ch)
	accepted := r.Type == task.ReplyAccepted
	if accepted {
		r = next(t, ch)
	}
	if r.Type != task.ReplyResult && r.Type != task.ReplyError {
		t.Fatalf("answer %+v", r)
	}
	if accepted == (r.ElapsedUs > 0) {
		t.Fatalf("answer %+v after accepted %v: an answer says it was accepted when, and only when, it goes before \"accepted\"", r, accepted)
	}
	return r
}

func TestExcessWaitsThenIsRefusedAsOverloaded(t *testing.T) {
	m := blockingModel{release: make(chan struct{}), started: make(chan string, 8)}
	h := start(t, m, 1, 1)
	running := h.send(t, "r", "t1")
	if r := next(t, running); r.Type != task.ReplyAccepted || r.Executor != "e1" {
		t.Fatalf("first reply = %+v, want accepted", r)
	}
	<-m.started
	waiting := h.send(t, "r", "t2")
	if r := next(t, waiting); r.Type != task.ReplyAccepted {
		t.Fatalf("a subtask within the queue limit was not accepted: %+v", r)
	}
	refused := next(t, h.send(t, "r", "t3"))
	if refused.Type != task.ReplyError || refused.Error.Code != task.CodeOverloaded || !refused.Error.Retryable || refused.Error.RetryAfterMs <= 0 {
		t.Fatalf("reply past the queue = %+v, want a retryable overloaded error with retry_after_ms", refused.Error)
	}
	if n := h.ex.InFlight("m"); n != 2 {
		t.Fatalf("in flight = %d, want 2", n)
	}
	close(m.release)
	if r := next(t, running); r.Type != task.ReplyResult || r.Output.Text != "done t1" {
		t.Fatalf("t1 result = %+v", r)
	}
	if r := next(t, waiting); r.Type != task.ReplyResult || r.Output.Text != "done t2" {
		t.Fatalf("the waiting subtask was not run: %+v", r)
	}
}

func TestDrainFinishesInFlightAndDeregisters(t *testing.T) {
	m := blockingModel{release: make(chan struct{}), started: make(chan string, 8)}
	h := start(t, m, 2, 0)
	replies := h.send(t, "r", "t1")
	next(t, replies)
	<-m.started
	if _, err := h.reg.Select(context.Background(), registry.Query{Capability: "x"}); err != nil {
		t.Fatalf("the replica is not registered: %v", err)
	}
	drained := make(chan error, 1)
	go func() { drained <- h.ex.Drain(context.Background()) }()
	select {
	case <-drained:
		t.Fatal("Drain returned with a subtask in flight")
	case <-time.After(100 * time.Millisecond):
	}
	close(m.release)
	if r := next(t, replies); r.Type != task.ReplyResult {
		t.Fatalf("in-flight subtask ended with %+v, want its result", r)
	}
	if err := <-drained; err != nil {
		t.Fatal(err)
	}
	if _, err := h.reg.Select(context.Background(), registry.Query{Capability: "x"}); task.AsError(err).Code != task.CodeModelUnavailable {
		t.Fatalf("after drain Select = %v, want model_unavailable (no live replica)", err)
	}
}

func TestCancelStopsWorkAndRefusesLateSubtasks(t *testing.T) {
	m := blockingModel{release: make(chan struct{}), started: make(chan string, 8)}
	h := start(t, m, 2, 0)
	replies := h.send(t, "req1", "t1")
	next(t, replies)
	<-m.started
	if err := h.nc.Publish(task.CancelSubject("req1"), nil); err != nil {
		t.Fatal(err)
	}
	if r := next(t, replies); r.Type != task.ReplyError || r.Error.Code != task.CodeCancelled {
		t.Fatalf("reply after cancel = %+v, want cancelled", r)
	}
	late := next(t, h.send(t, "req1", "t2"))
	if late.Type != task.ReplyError || late.Error.Code != task.CodeCancelled {
		t.Fatalf("late subtask of a cancelled request = %+v, want refused", late)
	}
}

// An attempt cancelled by name before it arrives (the router gave up
// waiting for it to be accepted) is refused when it does arrive, so it
// never runs beside its retry; the retry, another attempt, runs.
func TestAttemptCancelledBeforeItArrivesIsRefused(t *testing.T) {
	m := blockingModel{release: make(chan struct{}), started: make(chan string, 8)}
	h := start(t, m, 2, 0)
	notice, _ := json.Marshal(task.CancelNotice{Subtasks: []string{"t1"}, Attempt: 2})
	if err := h.nc.Publish(task.CancelSubject("req1"), notice); err != nil {
		t.Fatal(err)
	}
	if err := h.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	send := func(attempt int) <-chan task.Reply {
		out := make(chan task.Reply, 16)
		inbox := nats.NewInbox()
		if _, err := h.nc.Subscribe(inbox, func(msg *nats.Msg) {
			var r task.Reply
			_ = json.Unmarshal(msg.Data, &r)
			out <- r
		}); err != nil {
			t.Fatal(err)
		}
		w, _ := json.Marshal(task.Work{RequestID: "req1", SubtaskID: "t1", Attempt: attempt, Model: "m", Capability: "x", Input: "in"})
		if err := h.nc.PublishRequest(task.ModelSubject("m"), inbox, w); err != nil {
			t.Fatal(err)
		}
		return out
	}
	// The notice travels on its own subscription: wait until it is in.
	deadline := time.Now().Add(5 * time.Second)
	for {
		replies := send(2)
		r := next(t, replies)
		if r.Type == task.ReplyError && r.Error.Code == task.CodeCancelled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("attempt 2 after its cancellation = %+v, want refused", r)
		}
		// It was taken before the notice came in. Let it end, by its
		// release or by the notice coming in meanwhile (then it may never
		// start), before the next try: one left blocked would hold a
		// worker.
		for ended := r.Type == task.ReplyResult || r.Type == task.ReplyError; !ended; {
			select {
			case <-m.started:
			case m.release <- struct{}{}:
			case r := <-replies:
				ended = r.Type == task.ReplyResult || r.Type == task.ReplyError
			}
		}
	}
	if r := next(t, send(3)); r.Type != task.ReplyAccepted {
		t.Fatalf("attempt 3 = %+v, want accepted", r)
	}
	close(m.release)
}

// Work answered within task.AcceptWithin gets its answer alone, saying
// since when it was accepted; work that runs longer gets "accepted",
// saying how long the executor had had it, and then its answer.
func TestAcceptedGoesOnlyForWorkStillRunning(t *testing.T) {
	m := blockingModel{release: make(chan struct{}), started: make(chan string, 8)}
	h := start(t, m, 2, 4)
	slow := h.send(t, "r", "slow")
	<-m.started
	r := next(t, slow)
	if r.Type != task.ReplyAccepted || r.Executor != "e1" || r.ElapsedUs < task.AcceptWithin.Microseconds() {
		t.Fatalf("running work: %+v, want accepted after %s", r, task.AcceptWithin)
	}
	close(m.release)
	if r := next(t, slow); r.Type != task.ReplyResult || r.ElapsedUs != 0 {
		t.Fatalf("its answer: %+v, want the result alone", r)
	}
	// Quick work: on a loaded machine one may still take longer than
	// task.AcceptWithin, and then goes as slow work does.
	alone := 0
	for i := range 20 {
		quick := h.send(t, "r", fmt.Sprintf("quick%d", i))
		<-m.started
		first := next(t, quick)
		if first.Type == task.ReplyResult && first.ElapsedUs > 0 && first.Output.Text == fmt.Sprintf("done quick%d", i) {
			alone++
			continue
		}
		if first.Type != task.ReplyAccepted {
			t.Fatalf("quick work: %+v", first)
		}
		answer := next(t, quick)
		if answer.Type != task.ReplyResult || answer.ElapsedUs != 0 {
			t.Fatalf("quick work's answer after accepted: %+v", answer)
		}
	}
	if alone == 0 {
		t.Fatal("no quick work was answered without accepted")
	}
}

// A remote model's work is accepted at once, however soon it is answered:
// its call takes longer than task.AcceptWithin, and the accepted tells
// whoever follows it that it runs.
func TestRemoteModelsWorkIsAcceptedAtOnce(t *testing.T) {
	m := blockingModel{release: make(chan struct{}), started: make(chan string, 8)}
	close(m.release)
	h := startBackend(t, m, task.BackendOpenAI, 2, executors.Config{MaxQueue: 4, KeepAlive: time.Hour})
	for i := range 5 {
		replies := h.send(t, "r", fmt.Sprintf("t%d", i))
		if r := next(t, replies); r.Type != task.ReplyAccepted || r.ElapsedUs <= 0 {
			t.Fatalf("first reply %+v, want accepted", r)
		}
		if r := next(t, replies); r.Type != task.ReplyResult || r.ElapsedUs != 0 {
			t.Fatalf("answer %+v, want the result after accepted", r)
		}
	}
}
