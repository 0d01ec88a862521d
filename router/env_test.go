package router_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/task"
)

// funcModel is a model whose behaviour a test writes.
type funcModel func(ctx context.Context, w task.Work, progress func(string)) (task.Output, error)

func (f funcModel) Generate(ctx context.Context, w task.Work, progress func(string)) (task.Output, error) {
	return f(ctx, w, progress)
}

// echo answers "<capability>(<input>)" after an optional delay.
func echo(delay time.Duration, calls *atomic.Int64) funcModel {
	return func(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
		if calls != nil {
			calls.Add(1)
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return task.Output{}, ctx.Err()
		}
		return task.Output{Text: w.Capability + "(" + w.Input + ")"}, nil
	}
}

// env is one embedded NATS server, a memory registry and a router.
type env struct {
	t      testing.TB
	bus    *bus.Bus
	reg    *registry.Memory
	router *router.Router
	// heartbeat is the executors' heartbeat interval.
	heartbeat time.Duration
}

func newEnv(t testing.TB, cfg router.Config) *env {
	t.Helper()
	return newEnvWith(t, cfg)
}

// newEnvWith is newEnv with a registry built with opts.
func newEnvWith(t testing.TB, cfg router.Config, opts ...registry.Option) *env {
	t.Helper()
	ctx := context.Background()
	b, err := bus.Start(ctx, bus.Config{Name: t.Name()})
	if err != nil {
		t.Fatalf("starting bus: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	reg := registry.NewMemory(opts...)
	nc, err := b.Connect("router")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AcceptTimeout == 0 {
		cfg.AcceptTimeout = 2 * time.Second
	}
	r, err := router.New(nc, reg, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return &env{t: t, bus: b, reg: reg, router: r, heartbeat: time.Second}
}

// executor starts an executor on its own connection serving the models.
func (e *env) executor(id string, models ...executors.Served) (*executors.Executor, *nats.Conn) {
	e.t.Helper()
	nc, err := e.bus.Connect("executor-" + id)
	if err != nil {
		e.t.Fatal(err)
	}
	ex, err := executors.Start(context.Background(), nc, executors.Config{ID: id, Models: models, Announcer: e.reg,
		Heartbeat: e.heartbeat, KeepAlive: 50 * time.Millisecond})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(ex.Stop)
	return ex, nc
}

func served(name string, m executors.Model, concurrency int, caps ...string) executors.Served {
	return executors.Served{Spec: task.ModelSpec{Name: name, Backend: task.BackendLocal, Capabilities: caps, Concurrency: concurrency}, Model: m}
}

func plan(tasks ...task.Subtask) task.Plan { return task.Plan{Tasks: tasks} }

func sub(id, capability, input string, deps ...string) task.Subtask {
	if deps == nil {
		deps = []string{}
	}
	return task.Subtask{ID: id, Capability: capability, Input: input, Deps: deps}
}

func (e *env) run(ctx context.Context, p task.Plan) task.Response {
	return e.router.Run(ctx, task.Request{Input: "test request"}, p, nil)
}

func mustDone(t *testing.T, resp task.Response) {
	t.Helper()
	if resp.Error != nil {
		t.Fatalf("request failed: %v", resp.Error)
	}
	for _, st := range resp.Subtasks {
		if st.Status != task.StatusDone {
			t.Fatalf("subtask %s is %s: %v", st.ID, st.Status, st.Error)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
