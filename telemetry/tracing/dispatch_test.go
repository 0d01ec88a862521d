package tracing_test

import (
	"context"
	"errors"
	"fmt"
	"runtime/metrics"
	"syscall"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/task"
	"github.com/taskrouter/taskrouter/telemetry"
	"github.com/taskrouter/taskrouter/telemetry/otlptest"
	"github.com/taskrouter/taskrouter/telemetry/tracing"
)

// answerer answers with usage, or fails when the input says so.
type answerer struct{}

func (answerer) Generate(_ context.Context, w task.Work, _ func(string)) (task.Output, error) {
	if w.Input == "fail" {
		return task.Output{}, &task.Error{Code: task.CodeBadInput, Message: "the model broke"}
	}
	return task.Output{Text: "ok", Usage: task.Usage{PromptTokens: 7, CompletionTokens: 3}}, nil
}

// A dispatch's two spans carry every attribute the README's Traces
// section lists, with the work span a child of the attempt span, when it
// succeeds and when it fails.
func TestDispatchSpansCarryTheirAttributes(t *testing.T) {
	ctx := context.Background()
	rcv, err := otlptest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.Close()
	b, err := bus.Start(ctx, bus.Config{Name: "trace-attributes"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var providers []*tracing.Provider
	for _, service := range []string{telemetry.ServiceRouter, telemetry.ServiceExecutor} {
		p, err := tracing.Start(ctx, tracing.Config{Enabled: true, Endpoint: rcv.URL, ServiceName: service, Sampler: sdktrace.AlwaysSample()})
		if err != nil {
			t.Fatal(err)
		}
		providers = append(providers, p)
	}
	rc, err := b.Connect("router")
	if err != nil {
		t.Fatal(err)
	}
	ec, err := b.Connect("executor")
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.NewMemory()
	defer reg.Close()
	ex, err := executors.Start(ctx, ec, executors.Config{ID: "exec-1", Announcer: reg, Tracer: providers[1].Tracer(),
		Models: []executors.Served{{Spec: task.ModelSpec{Name: "local/answer", Backend: task.BackendLocal,
			Capabilities: []string{"summarize"}, Concurrency: 4}, Model: answerer{}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Stop()
	r, err := router.New(rc, reg, nil, router.Config{AcceptTimeout: 5 * time.Second, Tracer: providers[0].Tracer()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, input := range []string{"ok", "fail"} {
		plan := task.Plan{Tasks: []task.Subtask{{ID: "t1", Capability: "summarize", Input: input, Deps: []string{}}}}
		resp := r.Run(ctx, task.Request{ID: "req-" + input, Input: input}, plan, nil)
		if (resp.Error != nil) != (input == "fail") {
			t.Fatalf("%s: response error %v", input, resp.Error)
		}
	}
	// As a process stops: the router and the executor, then the traces.
	r.Close()
	if err := ex.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range providers {
		if err := p.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	}
	spans := rcv.Spans()
	for _, c := range []struct {
		request string
		attempt map[string]string
		work    map[string]string
		status  int32
	}{
		{request: "req-ok", status: 0,
			attempt: map[string]string{"taskrouter.subtask.id": "t1", "taskrouter.capability": "summarize", "taskrouter.model": "local/answer",
				"taskrouter.attempt": "1", "taskrouter.executor": "exec-1", "gen_ai.usage.input_tokens": "7", "gen_ai.usage.output_tokens": "3"},
			work: map[string]string{"taskrouter.request.id": "req-ok", "taskrouter.subtask.id": "t1", "gen_ai.request.model": "local/answer",
				"taskrouter.attempt": "1", "gen_ai.usage.input_tokens": "7", "gen_ai.usage.output_tokens": "3"}},
		{request: "req-fail", status: 2,
			attempt: map[string]string{"taskrouter.subtask.id": "t1", "taskrouter.capability": "summarize", "taskrouter.model": "local/answer",
				"taskrouter.attempt": "1", "taskrouter.executor": "exec-1", "taskrouter.error.code": string(task.CodeBadInput), "error.type": string(task.CodeBadInput)},
			work: map[string]string{"taskrouter.request.id": "req-fail", "taskrouter.subtask.id": "t1", "gen_ai.request.model": "local/answer",
				"taskrouter.attempt": "1", "taskrouter.error.code": string(task.CodeBadInput), "error.type": string(task.CodeBadInput)}},
	} {
		work, err := find(spans, func(s otlptest.Span) bool {
			return s.Name == "work summarize" && s.Service == telemetry.ServiceExecutor && s.Attributes["taskrouter.request.id"] == c.request
		})
		if err != nil {
			t.Fatalf("%s: %v", c.request, err)
		}
		attempt, err := find(spans, func(s otlptest.Span) bool {
			return s.SpanID == work.ParentSpanID && s.TraceID == work.TraceID
		})
		if err != nil {
			t.Fatalf("%s: the work span's parent: %v", c.request, err)
		}
		if attempt.Name != "subtask summarize" || attempt.Service != telemetry.ServiceRouter || attempt.Kind != 3 || work.Kind != 2 {
			t.Errorf("%s: attempt %q of %s kind %d, work kind %d", c.request, attempt.Name, attempt.Service, attempt.Kind, work.Kind)
		}
		for name, s := range map[string]struct {
			got  otlptest.Span
			want map[string]string
		}{"attempt": {attempt, c.attempt}, "work": {work, c.work}} {
			if fmt.Sprint(s.got.Attributes) != fmt.Sprint(s.want) || s.got.StatusCode != c.status {
				t.Errorf("%s: %s span status %d attributes\n%v, want status %d\n%v", c.request, name, s.got.StatusCode, s.got.Attributes, c.status, s.want)
			}
		}
	}
}

func find(spans []otlptest.Span, match func(otlptest.Span) bool) (otlptest.Span, error) {
	for _, s := range spans {
		if match(s) {
			return s, nil
		}
	}
	return otlptest.Span{}, errors.New("no such span")
}

// BenchmarkDispatch is a one-subtask dispatch through a router and an
// executor on an embedded NATS server, untraced and traced (every span
// exported to a receiver in this process that discards them), one at a
// time as the bench's p50 is. cpu-ns/op is the process's CPU time, which
// a shared machine moves less than the clock.
func BenchmarkDispatch(b *testing.B) {
	ctx := context.Background()
	rcv, err := otlptest.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer rcv.Close()
	rcv.Discard = true
	bs, err := bus.Start(ctx, bus.Config{Name: "trace-bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer bs.Close()
	reg := registry.NewMemory()
	defer reg.Close()
	for _, traced := range []bool{false, true} {
		name := map[bool]string{false: "off", true: "traced"}[traced]
		var rt, et trace.Tracer
		if traced {
			var tps []*tracing.Provider
			for _, service := range []string{telemetry.ServiceRouter, telemetry.ServiceExecutor} {
				p, err := tracing.Start(ctx, tracing.Config{Enabled: true, Endpoint: rcv.URL, ServiceName: service, Sampler: sdktrace.AlwaysSample()})
				if err != nil {
					b.Fatal(err)
				}
				defer p.Shutdown(ctx)
				tps = append(tps, p)
			}
			rt, et = tps[0].Tracer(), tps[1].Tracer()
		}
		rc, err := bs.Connect("router-" + name)
		if err != nil {
			b.Fatal(err)
		}
		ec, err := bs.Connect("executor-" + name)
		if err != nil {
			b.Fatal(err)
		}
		ex, err := executors.Start(ctx, ec, executors.Config{ID: "exec-" + name, Announcer: reg, Tracer: et, MaxQueue: 1 << 16,
			Models: []executors.Served{{Spec: task.ModelSpec{Name: "local/" + name, Backend: task.BackendLocal,
				Capabilities: []string{name}, Concurrency: 256}, Model: answerer{}}}})
		if err != nil {
			b.Fatal(err)
		}
		defer ex.Stop()
		r, err := router.New(rc, reg, nil, router.Config{AcceptTimeout: 10 * time.Second, Tracer: rt})
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		plan := task.Plan{Tasks: []task.Subtask{{ID: "t1", Capability: name, Input: "x", Deps: []string{}}}}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			cpu, runs := cpuTime(), goroutineRuns()
			for b.Loop() {
				if resp := r.Run(ctx, task.Request{Input: "bench"}, plan, nil); resp.Error != nil {
					b.Fatal(resp.Error)
				}
			}
			b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(goroutineRuns()-runs)/float64(b.N), "runs/op")
		})
	}
}

// goroutineRuns is about how many times a runnable goroutine has been
// put to run: the runtime samples one transition in gTrackingPeriod (8)
// into its scheduling latencies. Each is a hand-off between goroutines
// or a wake-up, which the clock on a shared machine hides.
func goroutineRuns() uint64 {
	s := []metrics.Sample{{Name: "/sched/latencies:seconds"}}
	metrics.Read(s)
	var n uint64
	for _, c := range s[0].Value.Float64Histogram().Counts {
		n += c
	}
	return 8 * n
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
