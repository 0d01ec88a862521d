package router_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/task"
)

// While the router's NATS connection is down, a dispatch fails at once
// with unavailable and a Retry-After, rather than waiting out the accept
// timeout of every attempt and then blaming the executors (lost).
func TestDispatchWhileNATSIsAwayFailsAtOnceAsUnavailable(t *testing.T) {
	ctx := context.Background()
	server, err := bus.Start(ctx, bus.Config{Name: "server", Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	client, err := bus.Start(ctx, bus.Config{URL: server.ClientURL()})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	nc, err := client.Connect("router")
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.NewMemory()
	r, err := router.New(nc, reg, nil, router.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	spec := task.ModelSpec{Name: "m", Backend: task.BackendLocal, Capabilities: []string{"calc"}}
	if err := reg.Announce(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if err := reg.Heartbeat(ctx, registry.Replica{Model: "m", ID: "x", Capacity: 1}, 0); err != nil {
		t.Fatal(err)
	}
	_ = server.Close() // the router's connection starts reconnecting
	for deadline := time.Now().Add(30 * time.Second); nc.Status() == nats.CONNECTED; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the router's connection never noticed the server was gone")
		}
	}
	resp := r.Run(ctx, task.Request{Input: "1+1"}, plan(sub("t1", "calc", "1+1")), nil)
	e := resp.Error
	if e == nil || e.Code != task.CodeUnavailable || e.RetryAfterMs <= 0 {
		t.Fatalf("error %+v, want unavailable with a wait", e)
	}
	if st := resp.Subtasks[0]; st.Attempts != 1 {
		t.Fatalf("subtask %+v: %d attempts, want 1 (a retry cannot reach anyone)", st, st.Attempts)
	}
}
