package router_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/task"
	"github.com/taskrouter/taskrouter/telemetry"
)

// recorder is a router.Metrics that writes down every call.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf(format, args...))
}

func (r *recorder) RequestEnded(ingress string, status task.Status, took time.Duration) {
	r.add("request %s %s", ingress, status)
}
func (r *recorder) Planned(planner string, fallback bool) { r.add("plan %s %v", planner, fallback) }
func (r *recorder) SubtaskEnded(st *task.SubtaskState) {
	r.add("subtask %s %s %s attempts=%d", st.Capability, st.Model, st.Status, st.Attempts)
}
func (r *recorder) Accepted(model string, queued time.Duration) {
	if queued <= 0 {
		r.add("accepted %s with no queue time", model)
		return
	}
	r.add("accepted %s", model)
}
func (r *recorder) Retried(model string, reason task.Code) { r.add("retry %s %s", model, reason) }

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(slices.Values(r.calls))
}

// The router reports a request, its plan, each subtask's end, each
// accepted attempt and each retry, with the labels metrics use; and the
// subtask's timeline holds every attempt with its times.
func TestMetricsOfARequestWithARetry(t *testing.T) {
	var m recorder
	e := newEnv(t, router.Config{Metrics: &m})
	failing := funcModel(func(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
		return task.Output{}, task.Errorf(task.CodeUpstream, "upstream said 503")
	})
	spec := func(name string, q float64) task.ModelSpec {
		return task.ModelSpec{Name: name, Backend: task.BackendLocal, Capabilities: []string{"x"}, Concurrency: 2,
			Quality: map[string]float64{"x": q}}
	}
	e.executor("a", executors.Served{Spec: spec("best", 0.9), Model: failing})
	e.executor("b", executors.Served{Spec: spec("backup", 0.2), Model: echo(0, nil)})
	resp := e.router.Handle(context.Background(), task.Request{Input: "in", Ingress: task.IngressHTTP,
		Plan: &task.Plan{Tasks: []task.Subtask{sub("t1", "x", "in")}}}, nil)
	mustDone(t, resp)
	want := []string{"accepted backup", "accepted best", "plan given false", "request http done",
		"retry best upstream", "subtask x backup done attempts=2"}
	if got := m.got(); !slices.Equal(got, want) {
		t.Errorf("metrics calls:\n got %q\nwant %q", got, want)
	}
	tl := resp.Subtasks[0].Timeline
	if len(tl) != 2 || tl[0].Model != "best" || tl[0].Error == nil || tl[0].Error.Code != task.CodeUpstream ||
		tl[1].Model != "backup" || tl[1].Error != nil || tl[1].Executor != "b" || tl[1].Attempt != 2 {
		t.Fatalf("timeline = %+v", tl)
	}
	for _, a := range tl {
		if a.AcceptedAt.Before(a.DispatchedAt) || a.EndedAt.Before(a.AcceptedAt) || a.AcceptedAt.IsZero() {
			t.Errorf("attempt %d: dispatched %v, accepted %v, ended %v: out of order", a.Attempt, a.DispatchedAt, a.AcceptedAt, a.EndedAt)
		}
	}
	if !tl[1].DispatchedAt.After(tl[0].EndedAt) && !tl[1].DispatchedAt.Equal(tl[0].EndedAt) {
		t.Errorf("the retry was dispatched before the first attempt ended")
	}
}

// A failed request is counted as failed, a cancelled one as cancelled,
// and a request from no ingress as cli.
func TestMetricsCountFailedAndCancelledRequests(t *testing.T) {
	var m recorder
	e := newEnv(t, router.Config{Metrics: &m, Attempts: 1})
	e.executor("a", served("m", funcModel(func(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
		if w.Input == "slow" {
			<-ctx.Done()
			return task.Output{}, ctx.Err()
		}
		return task.Output{}, task.Errorf(task.CodeBadInput, "no")
	}), 2, "x"))
	e.run(context.Background(), plan(sub("t1", "x", "bad")))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	ctx, stop := context.WithCancelCause(ctx)
	time.AfterFunc(50*time.Millisecond, func() { stop(task.Errorf(task.CodeCancelled, "stopped by the test")) })
	e.router.Run(ctx, task.Request{Input: "slow", Ingress: task.IngressNATS}, plan(sub("t1", "x", "slow")), nil)
	got := m.got()
	for _, w := range []string{"request cli failed", "request nats cancelled", "subtask x m failed attempts=1", "subtask x m cancelled attempts=1"} {
		if !slices.Contains(got, w) {
			t.Errorf("no %q in %q", w, got)
		}
	}
}

// With a tracer, each attempt gets a span, a child of the ingress's span
// in the request's context, and the work carries the attempt span's trace
// context to the executor.
func TestTraceContextTravelsInTheWork(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	e := newEnv(t, router.Config{Tracer: tp.Tracer("test")})
	got := make(chan string, 1)
	e.executor("a", served("m", funcModel(func(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
		got <- w.Traceparent
		return task.Output{Text: "ok"}, nil
	}), 1, "x"))
	ctx, ingress := tp.Tracer("test").Start(context.Background(), "ingress")
	mustDone(t, e.run(ctx, plan(sub("t1", "x", "in"))))
	ingress.End()
	e.router.Close() // the attempt's span is ended off the request's path; Close waits for it
	ended := spans.Ended()
	names := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range ended {
		names[s.Name()] = s
	}
	root, attempt := names["ingress"], names["subtask x"]
	if root == nil || attempt == nil || len(ended) != 2 {
		t.Fatalf("spans: %v", ended)
	}
	if attempt.Parent().SpanID() != root.SpanContext().SpanID() || attempt.SpanContext().TraceID() != root.SpanContext().TraceID() {
		t.Errorf("the attempt span is not the ingress span's child")
	}
	sc, ok := telemetry.ParseTraceparent(<-got)
	if !ok || sc.TraceID() != root.SpanContext().TraceID() || sc.SpanID() != attempt.SpanContext().SpanID() {
		t.Errorf("the work's traceparent %v is not the attempt span's %v", sc, attempt.SpanContext())
	}
	if attempt.SpanKind() != trace.SpanKindClient {
		t.Errorf("attempt span kind %v", attempt.SpanKind())
	}
}

// Without a tracer, the work carries no trace context.
func TestNoTraceContextWithoutATracer(t *testing.T) {
	e := newEnv(t, router.Config{})
	got := make(chan string, 1)
	e.executor("a", served("m", funcModel(func(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
		got <- w.Traceparent
		return task.Output{Text: "ok"}, nil
	}), 1, "x"))
	mustDone(t, e.run(context.Background(), plan(sub("t1", "x", "in"))))
	if tp := <-got; tp != "" {
		t.Errorf("traceparent %q without a tracer", tp)
	}
}
