package console_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/adapters/httpapi/console"
	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/task"
)

type echo struct{}

func (echo) Generate(_ context.Context, w task.Work, _ func(string)) (task.Output, error) {
	return task.Output{Text: w.Capability + "(" + w.Input + ")"}, nil
}

// cluster is an embedded NATS server, a registry and an executor of
// model "m" (capabilities a and b) that routers share.
type cluster struct {
	bus *bus.Bus
	reg *registry.Memory
}

func newCluster(tb testing.TB) *cluster {
	tb.Helper()
	b, err := bus.Start(context.Background(), bus.Config{Name: tb.Name()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = b.Close() })
	c := &cluster{bus: b, reg: registry.NewMemory()}
	nc := c.connect(tb, "executor")
	ex, err := executors.Start(context.Background(), nc, executors.Config{ID: "x1", Announcer: c.reg,
		Models: []executors.Served{{Spec: task.ModelSpec{Name: "m", Backend: task.BackendLocal, Capabilities: []string{"a", "b"}, Concurrency: 256}, Model: echo{}}}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(ex.Stop)
	return c
}

func (c *cluster) connect(tb testing.TB, name string) *nats.Conn {
	tb.Helper()
	nc, err := c.bus.Connect(name)
	if err != nil {
		tb.Fatal(err)
	}
	return nc
}

func (c *cluster) router(tb testing.TB, cfg router.Config) (*router.Router, *nats.Conn) {
	tb.Helper()
	cfg.AcceptTimeout = 10 * time.Second
	nc := c.connect(tb, "router")
	r, err := router.New(nc, c.reg, nil, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = r.Close() })
	return r, nc
}

// waitFor waits until the recorder has the request with the status.
func waitFor(t *testing.T, rec *console.Recorder, id, status string) console.Request {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		r, ok := rec.Get(id)
		if ok && r.Status == status {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("request %s: %+v (kept %v), want %s", id, r, ok, status)
		}
	}
}

var twoSteps = task.Plan{Tasks: []task.Subtask{
	{ID: "t1", Capability: "a", Input: "x", Deps: []string{}},
	{ID: "t2", Capability: "b", Input: "{{t1}}", Deps: []string{"t1"}},
}}

// With router.events: all, a console shows the requests other routers
// run, from tr.v1.events, and its own router's once, not twice.
func TestFollowShowsOtherRoutersRequests(t *testing.T) {
	c := newCluster(t)
	rec := console.New(console.Config{})
	stop, err := rec.Follow(c.connect(t, "console"))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	other, _ := c.router(t, router.Config{AllEvents: true})
	own, ownConn := c.router(t, router.Config{AllEvents: true, Observe: rec.Observe})
	if resp := other.Run(context.Background(), task.Request{ID: "req_other", Input: "x"}, twoSteps, nil); resp.Error != nil {
		t.Fatal(resp.Error)
	}
	if resp := own.Run(context.Background(), task.Request{ID: "req_own", Input: "x", Ingress: task.IngressCLI}, twoSteps, nil); resp.Error != nil {
		t.Fatal(resp.Error)
	}
	r := waitFor(t, rec, "req_other", "done")
	if !r.Remote || len(r.Steps) != 2 || r.Steps[1].Output != "b(a(x))" || len(r.Steps[1].Attempts) != 1 {
		t.Fatalf("the other router's request = %+v", r)
	}
	// A message sent after the own request's events, on the same
	// connection, arrives after their echoes: once it is in, they are.
	marker, _ := json.Marshal(task.Event{Type: task.EventFinished, RequestID: "req_marker", Time: time.Now()})
	if err := ownConn.Publish(task.EventsSubject("req_marker"), marker); err != nil {
		t.Fatal(err)
	}
	waitFor(t, rec, "req_marker", "done")
	mine, ok := rec.Get("req_own")
	if !ok || mine.Remote || mine.Ingress != task.IngressCLI || len(mine.Steps) != 2 || len(mine.Steps[0].Attempts) != 1 || mine.Seq != ownEvents {
		t.Fatalf("own request = %+v, seq %d (want %d: its own events only)", mine, mine.Seq, ownEvents)
	}
}

// ownEvents is how many events a two-step plan makes: planned, three per
// step (dispatched, accepted, done), merged and finished.
const ownEvents = 1 + 2*3 + 2

// BenchmarkRouterRun is a two-step plan run by a router with no observer
// and with the console's recorder: compare the two for what the console
// costs a request.
func BenchmarkRouterRun(b *testing.B) {
	c := newCluster(b)
	for _, bc := range []struct {
		name    string
		observe func(task.Event)
	}{{"observer=off", nil}, {"observer=recorder", console.New(console.Config{}).Observe}} {
		r, _ := c.router(b, router.Config{Observe: bc.observe})
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if resp := r.Run(context.Background(), task.Request{Input: "x"}, twoSteps, nil); resp.Error != nil {
					b.Fatal(resp.Error)
				}
			}
		})
	}
}
