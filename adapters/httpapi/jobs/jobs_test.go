package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/adapters/httpapi/kv"
	"github.com/taskrouter/taskrouter/task"
)

// blockRunner runs until released or cancelled, reporting one event.
type blockRunner struct{ release chan struct{} }

func (b blockRunner) Handle(ctx context.Context, req task.Request, onEvent func(task.Event)) task.Response {
	onEvent(task.Event{Type: task.EventDispatched, SubtaskID: "t1", Model: "m", Attempt: 1, Time: time.Now()})
	select {
	case <-b.release:
		return task.Response{ID: req.ID, Answer: "ok"}
	case <-ctx.Done():
		return task.Response{ID: req.ID, Error: task.AsError(context.Cause(ctx))}
	}
}

type onePlan struct{}

func (onePlan) Plan(context.Context, task.Request) (task.Plan, error) {
	return task.Plan{Tasks: []task.Subtask{{ID: "t1", Capability: "chat", Input: "x", Deps: []string{}}}}, nil
}

func newManager(t *testing.T, workers, queue int) (*Manager, blockRunner) {
	t.Helper()
	r := blockRunner{release: make(chan struct{})}
	m, err := New(Config{Runner: r, Planner: onePlan{}, Store: kv.NewMemory(time.Hour), Workers: workers, Queue: queue})
	if err != nil {
		t.Fatal(err)
	}
	return m, r
}

func waitStatus(t *testing.T, m *Manager, id, owner string, want Status) Job {
	t.Helper()
	return waitJob(t, m, id, owner, string(want), func(j Job) bool { return j.Status == want })
}

// waitJob waits until the job satisfies ok, which what says in words.
func waitJob(t *testing.T, m *Manager, id, owner, what string, ok func(Job) bool) Job {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if j, err := m.Get(context.Background(), id, owner); err == nil && ok(j) {
			return j
		}
	}
	j, _ := m.Get(context.Background(), id, owner)
	t.Fatalf("job %s is %s, with subtasks %+v; want %s", id, j.Status, j.Subtasks, what)
	return j
}

// Shutdown lets running jobs finish until its context ends, then fails
// what is left, queued or running, with a clear error: nothing accepted is
// dropped without a trace.
func TestCloseFailsWhatItCannotFinish(t *testing.T) {
	m, _ := newManager(t, 1, 4)
	ctx := context.Background()
	running, _ := m.Submit(ctx, Spec{Request: task.Request{Input: "a"}})
	queued, _ := m.Submit(ctx, Spec{Request: task.Request{Input: "b"}})
	waitStatus(t, m, running.ID, "", StatusRunning)
	closeCtx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := m.Close(closeCtx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{running.ID, queued.ID} {
		j, _ := m.Get(ctx, id, "")
		if j.Status != StatusFailed || j.Error == nil || j.Error.Code != task.CodeUnavailable {
			t.Fatalf("job %s after shutdown: %s %v", id, j.Status, j.Error)
		}
	}
	if _, err := m.Submit(ctx, Spec{Request: task.Request{Input: "c"}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Submit after Close = %v", err)
	}
	if m.Pending() != 0 {
		t.Fatalf("%d jobs pending after Close", m.Pending())
	}
}

func TestCancelQueuedAndRunning(t *testing.T) {
	m, r := newManager(t, 1, 4)
	defer closeSoon(m)
	ctx := context.Background()
	running, _ := m.Submit(ctx, Spec{Request: task.Request{Input: "a"}, Owner: "o"})
	queued, _ := m.Submit(ctx, Spec{Request: task.Request{Input: "b"}, Owner: "o"})
	// The job runs first, then its subtask's dispatch reaches the store.
	j := waitJob(t, m, running.ID, "o", "running with its subtask dispatched to m", func(j Job) bool {
		return j.Status == StatusRunning && len(j.Subtasks) == 1 && j.Subtasks[0].Status == task.StatusRunning
	})
	if j.Plan == nil || j.Subtasks[0].Model != "m" {
		t.Fatalf("a running job shows plan %+v subtasks %+v", j.Plan, j.Subtasks)
	}
	if _, err := m.Cancel(ctx, queued.ID, "someone else"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("cancel by another owner = %v", err)
	}
	got, err := m.Cancel(ctx, queued.ID, "o")
	if err != nil || got.Status != StatusCancelled {
		t.Fatalf("cancel queued = %s, %v", got.Status, err)
	}
	got, err = m.Cancel(ctx, running.ID, "o")
	if err != nil || got.Status != StatusCancelled || got.Error.Code != task.CodeCancelled {
		t.Fatalf("cancel running = %+v, %v", got, err)
	}
	if _, err := m.Cancel(ctx, running.ID, "o"); !errors.Is(err, ErrFinal) {
		t.Fatalf("second cancel = %v", err)
	}
	close(r.release)
}

func TestBackoffGrowsWithJitterWithinBounds(t *testing.T) {
	c := CallbackConfig{InitialBackoff: time.Second, MaxBackoff: 30 * time.Second}
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 5: 16 * time.Second, 9: 30 * time.Second} {
		seen := map[time.Duration]bool{}
		for range 50 {
			d := c.Backoff(n)
			if d < want/2 || d > want {
				t.Fatalf("Backoff(%d) = %s, want within [%s, %s]", n, d, want/2, want)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Fatalf("Backoff(%d) has no jitter: %v", n, seen)
		}
	}
}

func TestFinalStatus(t *testing.T) {
	cancelled := errCancelled("job_x")
	cases := []struct {
		resp  task.Response
		cause error
		want  Status
	}{
		{task.Response{Answer: "a"}, nil, StatusDone},
		{task.Response{Answer: "partial", Error: &task.Error{Code: task.CodeUpstream}}, nil, StatusDone},
		{task.Response{Error: &task.Error{Code: task.CodeUpstream}}, nil, StatusFailed},
		{task.Response{Answer: "a"}, cancelled, StatusCancelled},
		{task.Response{Error: &task.Error{Code: task.CodeCancelled}}, cancelled, StatusCancelled},
		{task.Response{Error: &task.Error{Code: task.CodeUnavailable}}, errShutdown, StatusFailed},
	}
	for _, c := range cases {
		if got := finalStatus(c.resp, c.cause); got != c.want {
			t.Errorf("finalStatus(%+v, %v) = %s, want %s", c.resp, c.cause, got, c.want)
		}
	}
}

func TestValidID(t *testing.T) {
	for id, ok := range map[string]bool{newJobID(): true, "job_": true, "order-17_B": true, "": false, "_job": false, "-x": false,
		"job_a.b": false, "a*": false, "a>": false, "a b": false, "job_" + strings.Repeat("a", 60): true, "job_" + strings.Repeat("a", 61): false} {
		if validID(id) != ok {
			t.Errorf("validID(%q) = %v", id, !ok)
		}
	}
}

func closeSoon(m *Manager) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = m.Close(ctx)
}

// limitStore refuses values over max bytes, as JetStream does over the
// NATS server's max_payload.
type limitStore struct {
	kv.Store
	max int
}

func (s limitStore) Create(ctx context.Context, key string, value []byte) (uint64, error) {
	if len(value) > s.max {
		return 0, fmt.Errorf("%w: %d bytes", kv.ErrTooLarge, len(value))
	}
	return s.Store.Create(ctx, key, value)
}

func (s limitStore) Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	if len(value) > s.max {
		return 0, fmt.Errorf("%w: %d bytes", kv.ErrTooLarge, len(value))
	}
	return s.Store.Update(ctx, key, value, rev)
}

// answerRunner answers with its text, after outputs of the same size.
type answerRunner struct{ answer string }

func (a answerRunner) Handle(_ context.Context, req task.Request, onEvent func(task.Event)) task.Response {
	onEvent(task.Event{Type: task.EventDispatched, SubtaskID: "t1", Model: "m", Attempt: 1, Time: time.Now()})
	return task.Response{ID: req.ID, Answer: a.answer, Plan: req.Plan,
		Subtasks: []task.SubtaskState{{ID: "t1", Capability: "chat", Status: task.StatusDone, Output: a.answer}}}
}

// bigPlan plans one subtask whose input repeats the request, as planners do.
type bigPlan struct{}

func (bigPlan) Plan(_ context.Context, req task.Request) (task.Plan, error) {
	return task.Plan{Tasks: []task.Subtask{{ID: "t1", Capability: "chat", Input: req.Input, Deps: []string{}}}}, nil
}

// A job larger than the store takes is refused when it is created, and one
// that grows too large while it runs is stored without its largest
// duplicates, or failed with a too_large error: it never stays stored as
// running while its owner goes on, to be taken over and run again.
func TestJobsTooLargeForTheStore(t *testing.T) {
	const max = 4000
	input := strings.Repeat("x", 1500)
	for _, tc := range []struct {
		name    string
		answer  string
		status  Status
		omitted []string
	}{
		{"the outputs and plan go", strings.Repeat("a", 1500), StatusDone, []string{"subtasks.output", "plan"}},
		{"the answer goes and the job fails", strings.Repeat("a", 5000), StatusFailed, []string{"subtasks.output", "plan", "answer"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(Config{Runner: answerRunner{tc.answer}, Planner: bigPlan{}, Store: limitStore{kv.NewMemory(time.Hour), max}, Workers: 1, Queue: 4})
			if err != nil {
				t.Fatal(err)
			}
			defer closeSoon(m)
			if _, err := m.Submit(context.Background(), Spec{Request: task.Request{Input: strings.Repeat("y", max)}}); !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Submit of a request larger than the store = %v, want ErrTooLarge", err)
			}
			j, err := m.Submit(context.Background(), Spec{Request: task.Request{Input: input}})
			if err != nil {
				t.Fatal(err)
			}
			j = waitStatus(t, m, j.ID, "", tc.status)
			if !slices.Equal(j.Omitted, tc.omitted) || j.Plan != nil || j.Subtasks[0].Output != "" {
				t.Fatalf("omitted %v (want %v), plan %v, output %d bytes", j.Omitted, tc.omitted, j.Plan, len(j.Subtasks[0].Output))
			}
			if tc.status == StatusDone && j.Answer != tc.answer {
				t.Fatalf("the answer was not kept: %d bytes", len(j.Answer))
			}
			if tc.status == StatusFailed && (j.Answer != "" || j.Error == nil || j.Error.Code != task.CodeTooLarge) {
				t.Fatalf("answer %d bytes, error %v; want none and too_large", len(j.Answer), j.Error)
			}
		})
	}
}

// Whatever ValidID accepts, from a URL path or a producer's message id,
// is one NATS subject token and a key-value key, unescaped.
func FuzzValidID(f *testing.F) {
	for _, s := range []string{newJobID(), "order-17", "a.b", "a>", "", "-x", "模型", strings.Repeat("a", 65)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if !ValidID(id) {
			return
		}
		if len(id) > 64 || task.EscapeToken(id) != id || strings.ContainsAny(id, ".*> \t\r\n") {
			t.Fatalf("ValidID accepted %q", id)
		}
	})
}
