package router_test

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/task"
)

// A model with one replica whose executor is slow to accept (its queue is
// long, its machine starved) keeps the work: the router waits for it
// rather than sending a copy that could only queue behind the first and
// run twice. With a second live replica it would send the copy there.
func TestSlowAcceptWithOneReplicaIsWaitedFor(t *testing.T) {
	e := newEnv(t, router.Config{AcceptTimeout: 100 * time.Millisecond, LostAfter: 2 * time.Second})
	ctx := context.Background()
	if err := e.reg.Announce(ctx, task.ModelSpec{Name: "slow", Backend: task.BackendLocal, Capabilities: []string{"calc"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Heartbeat(ctx, registry.Replica{Model: "slow", ID: "only", Capacity: 1}, time.Minute); err != nil {
		t.Fatal(err)
	}
	nc, err := e.bus.Connect("slow-executor")
	if err != nil {
		t.Fatal(err)
	}
	var got atomic.Int64
	_, err = nc.QueueSubscribe(task.ModelSubject("slow"), "slow", func(m *nats.Msg) {
		got.Add(1)
		go func() {
			time.Sleep(300 * time.Millisecond) // three accept timeouts
			for _, r := range []task.Reply{{Type: task.ReplyAccepted, Executor: "only"},
				{Type: task.ReplyResult, Executor: "only", Output: &task.Output{Text: "42"}}} {
				data, _ := json.Marshal(r)
				_ = nc.Publish(m.Reply, data)
			}
		}()
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	resp := e.run(ctx, plan(sub("t1", "calc", "6*7")))
	if resp.Error != nil || resp.Answer != "42" {
		t.Fatalf("answer %q, error %v", resp.Answer, resp.Error)
	}
	if st := resp.Subtasks[0]; st.Attempts != 1 || got.Load() != 1 {
		t.Fatalf("%d attempts, %d dispatches reached the executor; want 1 and 1", st.Attempts, got.Load())
	}
}
