package executors

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/task"
)

type echoModel struct{}

func (echoModel) Generate(_ context.Context, w task.Work, _ func(string)) (task.Output, error) {
	return task.Output{Text: w.Input}, nil
}

// A subtask whose message was already being handed over when the
// executor stopped, and so is queued after Stop answered the queue, is
// refused at once, for the router to retry elsewhere; it does not wait
// out the queue's 30 s.
func TestWorkQueuedAfterStopIsRefusedAtOnce(t *testing.T) {
	b, err := bus.Start(context.Background(), bus.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	enc, _ := b.Connect("executor")
	client, _ := b.Connect("client")
	spec := task.ModelSpec{Name: "m", Backend: task.BackendLocal, Capabilities: []string{"x"}, Concurrency: 1}
	e, err := Start(context.Background(), enc, Config{ID: "e1", Announcer: registry.NewMemory(), Models: []Served{{Spec: spec, Model: echoModel{}}}})
	if err != nil {
		t.Fatal(err)
	}
	e.Stop()
	time.Sleep(50 * time.Millisecond) // Stop's own answer to the queue has run

	replies := make(chan task.Reply, 4)
	inbox := nats.NewInbox()
	if _, err := client.Subscribe(inbox, func(msg *nats.Msg) {
		var r task.Reply
		_ = json.Unmarshal(msg.Data, &r)
		replies <- r
	}); err != nil {
		t.Fatal(err)
	}
	_ = client.Flush()
	work, _ := json.Marshal(task.Work{RequestID: "req1", SubtaskID: "t1", Attempt: 1, Model: "m", Capability: "x", Input: "in"})
	e.onWork(e.models["m"], &nats.Msg{Subject: task.ModelSubject("m"), Reply: inbox, Data: work})
	deadline := time.After(5 * time.Second)
	for {
		select {
		case r := <-replies:
			if r.Type == task.ReplyAccepted {
				continue
			}
			if r.Type != task.ReplyError || r.Error == nil || r.Error.Code != task.CodeUnavailable {
				t.Fatalf("reply %+v, want unavailable", r)
			}
			return
		case <-deadline:
			t.Fatal("no answer 5 s after the work was queued on a stopped executor")
		}
	}
}
