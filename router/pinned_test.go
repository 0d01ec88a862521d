package router_test

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/task"
)

// chatSpec is a chat model of the given quality with fallbacks.
func chatSpec(name string, quality float64, fallbacks ...string) task.ModelSpec {
	return task.ModelSpec{Name: name, Backend: task.BackendLocal, Capabilities: []string{"chat"}, Concurrency: 2,
		Quality: map[string]float64{"chat": quality}, Fallbacks: fallbacks}
}

func failingModel(calls *atomic.Int64) funcModel {
	return func(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
		calls.Add(1)
		return task.Output{}, task.Errorf(task.CodeUpstream, "upstream said 503")
	}
}

// askModel asks the named model to chat, with the one-step plan a request
// naming it runs.
func askModel(e *env, model string) task.Response {
	one := plan(sub("t1", "chat", "hi"))
	return e.router.Handle(context.Background(), task.Request{Input: "hi", Hints: task.Hints{Model: model}, Plan: &one}, nil)
}

// A request naming a model is answered by that model or by the fallbacks
// its spec lists, never by another model however well it scores; the
// response names the model that answered.
func TestNamedModelIsServedByItselfOrItsFallbacks(t *testing.T) {
	e := newEnv(t, router.Config{Attempts: 3})
	var failed, better, backup atomic.Int64
	e.executor("a", executors.Served{Spec: chatSpec("alone", 0.1), Model: failingModel(&failed)},
		executors.Served{Spec: chatSpec("covered", 0.1, "backup"), Model: failingModel(&failed)})
	e.executor("b", executors.Served{Spec: chatSpec("better", 0.9), Model: echo(0, &better)},
		executors.Served{Spec: chatSpec("backup", 0.2), Model: echo(0, &backup)})

	resp := askModel(e, "alone")
	if resp.Error == nil || resp.Error.Code != task.CodeUpstream || resp.Subtasks[0].Model != "alone" || resp.Subtasks[0].Attempts != 3 {
		t.Fatalf("named model without fallbacks: error %v, subtask %+v; want its own failure after 3 attempts", resp.Error, resp.Subtasks[0])
	}
	if better.Load() != 0 || backup.Load() != 0 {
		t.Fatalf("another model answered a request naming %q: better %d, backup %d calls", "alone", better.Load(), backup.Load())
	}

	resp = askModel(e, "covered")
	mustDone(t, resp)
	if st := resp.Subtasks[0]; st.Model != "backup" || st.Attempts != 2 || resp.Model != "backup" || resp.Answer != "chat(hi)" {
		t.Fatalf("named model with a fallback: subtask %+v, response model %q; want the fallback on the 2nd attempt, named", st, resp.Model)
	}
	if better.Load() != 0 {
		t.Fatalf("a model that is no configured fallback answered: %d calls", better.Load())
	}
	resp = askModel(e, "better")
	mustDone(t, resp)
	if resp.Model != "better" || resp.Subtasks[0].Model != "better" {
		t.Fatalf("healthy named model: answered by %q", resp.Model)
	}
}

// An executor of a named model dies mid-subtask: the retry goes to another
// replica of that model, not to its fallback nor to a better model.
func TestNamedModelRetriesALostAttemptOnItsOtherReplica(t *testing.T) {
	e := newEnv(t, router.Config{LostAfter: time.Second, Attempts: 3})
	var doomed *nats.Conn
	started := make(chan struct{})
	// It dies once it has told the router it has the work, which it does
	// only for work it has not answered within task.AcceptWithin.
	acceptedByDying := make(chan struct{})
	watch, err := e.bus.Connect("watch")
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	var once sync.Once
	if _, err := watch.Subscribe(">", func(m *nats.Msg) {
		if bytes.Contains(m.Data, []byte(`"type":"accepted","executor":"dying"`)) {
			once.Do(func() { close(acceptedByDying) })
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := watch.Flush(); err != nil {
		t.Fatal(err)
	}
	dying := funcModel(func(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
		<-acceptedByDying
		close(started)
		doomed.Close() // the process dies: no reply, no keep-alive, no heartbeat
		<-ctx.Done()
		return task.Output{}, ctx.Err()
	})
	var other atomic.Int64
	e.executor("other", executors.Served{Spec: chatSpec("best", 0.9), Model: echo(0, &other)},
		executors.Served{Spec: chatSpec("spare", 0.5), Model: echo(0, &other)})
	_, doomed = e.executor("dying", executors.Served{Spec: chatSpec("m", 0.1, "spare"), Model: dying})
	resp := make(chan task.Response, 1)
	go func() { resp <- askModel(e, "m") }()
	<-started
	e.executor("healthy", executors.Served{Spec: chatSpec("m", 0.1, "spare"), Model: echo(0, nil)})
	r := <-resp
	mustDone(t, r)
	if st := r.Subtasks[0]; st.Model != "m" || st.Executor != "healthy" || st.Attempts != 2 || r.Model != "m" || other.Load() != 0 {
		t.Fatalf("subtask %+v, response model %q, %d calls to other models; want m's healthy replica on the 2nd attempt", st, r.Model, other.Load())
	}
}

// The NATS ingress follows the HTTP API's rules: a request naming a model
// and bringing no plan runs as that model's one-step plan; an unknown
// model is model_not_found; a plan step the named model cannot do is
// model_lacks_capability; "taskrouter" means no model.
func TestNATSRequestNamingAModel(t *testing.T) {
	e := newEnv(t, router.Config{})
	var better atomic.Int64
	e.executor("x1", executors.Served{Spec: chatSpec("named", 0.1), Model: echo(0, nil)},
		executors.Served{Spec: task.ModelSpec{Name: "better", Backend: task.BackendLocal, Capabilities: []string{"chat", "calc"},
			Concurrency: 2, Quality: map[string]float64{"chat": 0.9}}, Model: echo(0, &better)})
	stop, err := e.router.Serve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	nc, err := e.bus.Connect("producer")
	if err != nil {
		t.Fatal(err)
	}
	one := `{"tasks":[{"id":"t1","capability":"calc","input":"1+1","deps":[]}]}`
	tests := []struct {
		name, body string
		code       task.Code
		model      string
	}{
		{"named", `{"input":"hi","model":"named"}`, "", "named"},
		{"unknown", `{"input":"hi","model":"nope"}`, task.CodeModelNotFound, ""},
		{"lacks the capability", `{"input":"hi","model":"named","plan":` + one + `}`, task.CodeModelLacksCapability, ""},
		{"taskrouter is no model", `{"input":"hi","model":"taskrouter","plan":` + one + `}`, "", "better"},
	}
	for _, tc := range tests {
		msg, err := nc.Request(task.SubjectRequest, []byte(tc.body), 10*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var resp task.Response
		if err := json.Unmarshal(msg.Data, &resp); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		switch {
		case tc.code != "" && (resp.Error == nil || resp.Error.Code != tc.code):
			t.Errorf("%s: error %v, want %s", tc.name, resp.Error, tc.code)
		case tc.code == "" && (resp.Error != nil || resp.Model != tc.model):
			t.Errorf("%s: error %v, answered by %q; want %q", tc.name, resp.Error, resp.Model, tc.model)
		}
	}
	if better.Load() != 1 {
		t.Errorf("model better got %d calls, want only the planned calc step", better.Load())
	}
}
