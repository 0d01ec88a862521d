package router_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/task"
)

// Anything on the NATS may answer a dispatch. A reply nested 8,000,000
// levels deep killed the router in gjson's validator; now the attempt
// fails as a bad reply does, saying why, and the router stays up.
func TestDeepReplyFailsTheAttempt(t *testing.T) {
	e := newEnv(t, router.Config{Attempts: 1})
	ctx := context.Background()
	spec := task.ModelSpec{Name: "rogue", Backend: task.BackendLocal, Capabilities: []string{"work"}, Concurrency: 1}
	if err := e.reg.Announce(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Heartbeat(ctx, registry.Replica{Model: "rogue", ID: "r1", Capacity: 1, SeenAt: time.Now()}, time.Hour); err != nil {
		t.Fatal(err)
	}
	nc, err := e.bus.Connect("rogue")
	if err != nil {
		t.Fatal(err)
	}
	deep := bytes.Repeat([]byte("["), 8_000_000)
	if _, err := nc.QueueSubscribe(task.ModelSubject("rogue"), "rogue", func(m *nats.Msg) { _ = m.Respond(deep) }); err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	resp := e.run(ctx, plan(sub("t1", "work", "x")))
	st := resp.Subtasks[0]
	if st.Status != task.StatusFailed || st.Error == nil || st.Error.Code != task.CodeUpstream ||
		!strings.Contains(st.Error.Message, "nested more than 144 levels deep") {
		t.Fatalf("subtask = %+v, error %+v; want an upstream error saying how deep the reply is", st, st.Error)
	}
}
