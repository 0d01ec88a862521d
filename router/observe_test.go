package router_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/task"
)

// observed collects what a router's observer gets.
type observed struct {
	mu     sync.Mutex
	events []task.Event
}

func (o *observed) observe(ev task.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, ev)
}

func (o *observed) of(typ task.EventType, subtask string) []task.Event {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []task.Event
	for _, ev := range o.events {
		if ev.Type == typ && ev.SubtaskID == subtask {
			out = append(out, ev)
		}
	}
	return out
}

// The observer sees a request that asked for no events, with what a live
// view needs: the plan, the ingress, every subtask's input as dispatched
// and its output, and the finished event with the answer and the usage.
// Observing alone does not make executors stream.
func TestObserverSeesEveryRequestWithItsInputsAndOutputs(t *testing.T) {
	var o observed
	e := newEnv(t, router.Config{Observe: o.observe})
	var streamed atomic.Bool
	m := funcModel(func(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
		streamed.Store(streamed.Load() || w.Stream)
		return task.Output{Text: w.Capability + "(" + w.Input + ")", Usage: task.Usage{PromptTokens: 2, CostUSD: 0.5}}, nil
	})
	e.executor("x1", served("m", m, 4, "a", "b"))
	req := task.Request{ID: "req_obs", Input: "the request", Ingress: task.IngressHTTP}
	resp := e.router.Run(context.Background(), req, plan(sub("t1", "a", "one"), sub("t2", "b", "two {{t1}}", "t1")), nil)
	mustDone(t, resp)
	planned := o.of(task.EventPlanned, "")
	if len(planned) != 1 || planned[0].Plan == nil || len(planned[0].Plan.Tasks) != 2 || planned[0].Input != "the request" ||
		planned[0].Ingress != task.IngressHTTP || planned[0].RequestID != "req_obs" {
		t.Fatalf("planned = %+v", planned)
	}
	if d := o.of(task.EventDispatched, "t2"); len(d) != 1 || d[0].Input != "two a(one)" {
		t.Fatalf("t2 dispatched = %+v, want its input with t1's output in it", d)
	}
	if d := o.of(task.EventDone, "t2"); len(d) != 1 || d[0].Output == nil || d[0].Output.Text != "b(two a(one))" || d[0].Output.Usage.CostUSD != 0.5 {
		t.Fatalf("t2 done = %+v", d)
	}
	fin := o.of(task.EventFinished, "")
	if len(fin) != 1 || fin[0].Output == nil || fin[0].Output.Text != resp.Answer || fin[0].Output.Usage != resp.Usage ||
		fin[0].Error != nil || fin[0].Ingress != task.IngressHTTP {
		t.Fatalf("finished = %+v, want the answer %q and usage %+v", fin, resp.Answer, resp.Usage)
	}
	if last := o.events[len(o.events)-1]; last.Type != task.EventFinished {
		t.Fatalf("last event = %s, want finished", last.Type)
	}
	// The events carry the times of the response's timeline, so a live
	// view draws what the response says.
	tl := resp.Subtasks[1].Timeline[0]
	if d, a, done := o.of(task.EventDispatched, "t2")[0], o.of(task.EventAccepted, "t2")[0], o.of(task.EventDone, "t2")[0]; !d.Time.Equal(tl.DispatchedAt) || !a.Time.Equal(tl.AcceptedAt) || !done.Time.Equal(tl.EndedAt) {
		t.Fatalf("event times %s, %s, %s; timeline %+v", d.Time, a.Time, done.Time, tl)
	}
	if streamed.Load() {
		t.Fatal("an observed request that nobody follows made the executor stream")
	}
}

// A request that fails before it has a plan still ends with a finished
// event carrying its error, so a live view never shows it running.
func TestObserverSeesARequestRefusedBeforeItsPlan(t *testing.T) {
	var o observed
	e := newEnv(t, router.Config{Observe: o.observe})
	resp := e.router.Handle(context.Background(), task.Request{ID: "req_bad", Input: "x", Hints: task.Hints{Model: "no-such-model"}, Ingress: task.IngressNATS}, nil)
	if resp.Error == nil || resp.Error.Code != task.CodeModelNotFound {
		t.Fatalf("error = %v", resp.Error)
	}
	fin := o.of(task.EventFinished, "")
	if len(o.events) != 1 || len(fin) != 1 || fin[0].Error == nil || fin[0].Error.Code != task.CodeModelNotFound || fin[0].Ingress != task.IngressNATS {
		t.Fatalf("events = %+v, want one finished with model_not_found", o.events)
	}
}

// Events carry texts cut to task.MaxEventText, so one stays far below
// NATS's max_payload whatever the input.
func TestObservedEventsClipLongTexts(t *testing.T) {
	var o observed
	e := newEnv(t, router.Config{Observe: o.observe, Limits: task.Limits{MaxInputBytes: 1 << 20}})
	e.executor("x1", served("m", echo(0, nil), 4, "a"))
	long := strings.Repeat("é", task.MaxEventText) // twice the bound in bytes
	mustDone(t, e.router.Run(context.Background(), task.Request{Input: long}, plan(sub("t1", "a", long)), nil))
	for _, ev := range o.events {
		if len(ev.Input) > task.MaxEventText || ev.Output != nil && len(ev.Output.Text) > task.MaxEventText {
			t.Fatalf("%s event carries %d bytes of input", ev.Type, len(ev.Input))
		}
		if ev.Plan != nil && (len(ev.Plan.Tasks[0].Input) > task.MaxEventText || !ev.Clipped) {
			t.Fatalf("planned event's plan input is %d bytes, clipped %v", len(ev.Plan.Tasks[0].Input), ev.Clipped)
		}
	}
	if d := o.of(task.EventDispatched, "t1"); len(d) != 1 || !d[0].Clipped || !strings.HasPrefix(long, d[0].Input) {
		t.Fatalf("dispatched = %+v", d)
	}
}

// Every attempt of a subtask is in its timeline, in order, with the
// times a Gantt chart draws: dispatched, accepted, ended.
func TestTimelineHasEveryAttempt(t *testing.T) {
	e := newEnv(t, router.Config{})
	failing := funcModel(func(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
		return task.Output{}, task.Errorf(task.CodeUpstream, "upstream said 503")
	})
	spec := func(name string, q float64) task.ModelSpec {
		return task.ModelSpec{Name: name, Backend: task.BackendLocal, Capabilities: []string{"x"}, Concurrency: 2,
			Quality: map[string]float64{"x": q}}
	}
	e.executor("a", executors.Served{Spec: spec("best", 0.9), Model: failing})
	e.executor("b", executors.Served{Spec: spec("backup", 0.2), Model: echo(0, nil)})
	resp := e.run(context.Background(), plan(sub("t1", "x", "in")))
	mustDone(t, resp)
	st := resp.Subtasks[0]
	if len(st.Timeline) != 2 {
		t.Fatalf("timeline = %+v, want two attempts", st.Timeline)
	}
	first, second := st.Timeline[0], st.Timeline[1]
	if first.Attempt != 1 || first.Model != "best" || first.Executor != "a" || first.Error == nil || first.Error.Code != task.CodeUpstream {
		t.Fatalf("first attempt = %+v", first)
	}
	if second.Attempt != 2 || second.Model != "backup" || second.Executor != "b" || second.Error != nil {
		t.Fatalf("second attempt = %+v", second)
	}
	for _, a := range st.Timeline {
		if a.DispatchedAt.Before(st.StartedAt) || a.AcceptedAt.Before(a.DispatchedAt) || a.EndedAt.Before(a.AcceptedAt) || st.EndedAt.Before(a.EndedAt) {
			t.Fatalf("attempt %d times out of order: %+v (subtask %s to %s)", a.Attempt, a, st.StartedAt, st.EndedAt)
		}
	}
	if second.DispatchedAt.Before(first.EndedAt) {
		t.Fatal("the retry was dispatched before the first attempt ended")
	}
}
