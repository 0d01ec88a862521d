package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/task"
	"github.com/taskrouter/taskrouter/telemetry"
	"github.com/taskrouter/taskrouter/telemetry/metrics"
	"github.com/taskrouter/taskrouter/telemetry/otlptest"
	"github.com/taskrouter/taskrouter/telemetry/tracing"
)

// telemetryBench is the cost of observing dispatch: the same one-subtask
// dispatch with Prometheus metrics and tracing on (every span sampled and
// exported over OTLP/HTTP to a receiver in another process on this
// machine, as a collector would be), in the router and the executor,
// against both off, in alternating rounds.
type telemetryBench struct {
	ObservedDispatchP50us float64 `json:"observed_dispatch_p50_us"`
	// ObservedDispatchOverheadRatio is dispatch_overhead_ratio with
	// telemetry on: its p50 over raw NATS's.
	ObservedDispatchOverheadRatio float64 `json:"observed_dispatch_overhead_ratio"`
	// TelemetryOverheadRatio is the observed dispatch's p50 over the
	// unobserved one's, measured side by side.
	TelemetryOverheadRatio float64 `json:"telemetry_overhead_ratio"`
	// Exports is how many OTLP export requests the receiver took.
	Exports int `json:"telemetry_exports"`
}

// benchTelemetry measures off (the plain router r, capability noop)
// against on: a second router and executor with metrics and tracers, on
// conns of their own, serving capability "traced".
func benchTelemetry(ctx context.Context, rep *benchReport, reg registry.Registry, off *router.Router, routerConn, execConn *nats.Conn) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	rcv, rcvURL, err := startBenchChild(exe, "--otlp-receiver")
	if err != nil {
		return err
	}
	defer stopProcess(rcv)
	providers := map[string]*tracing.Provider{}
	for _, service := range []string{telemetry.ServiceRouter, telemetry.ServiceExecutor} {
		p, err := tracing.Start(ctx, tracing.Config{Enabled: true, Endpoint: rcvURL, ServiceName: service, Sampler: sdktrace.AlwaysSample()})
		if err != nil {
			return err
		}
		providers[service] = p
	}
	m := metrics.New()
	m.WatchModels(reg)
	ex, err := executors.Start(ctx, execConn, executors.Config{ID: "bench-observed", Announcer: reg, MaxQueue: 1 << 16,
		Metrics: m, Tracer: providers[telemetry.ServiceExecutor].Tracer(), Models: []executors.Served{
			{Spec: task.ModelSpec{Name: "bench/observed", Backend: task.BackendLocal, Capabilities: []string{"traced"}, Concurrency: 256}, Model: noop{}},
		}})
	if err != nil {
		return err
	}
	defer ex.Stop()
	m.WatchExecutor(ex)
	on, err := router.New(routerConn, reg, nil, router.Config{AcceptTimeout: 10 * time.Second, Metrics: m,
		Tracer: providers[telemetry.ServiceRouter].Tracer()})
	if err != nil {
		return err
	}
	defer on.Close()
	pm, err := measurePair(oneSubtask(ctx, off, "noop"), oneSubtask(ctx, on, "traced"), rep.Requests, rep.Concurrency)
	if err != nil {
		return err
	}
	for _, p := range providers {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := p.Shutdown(sctx)
		cancel()
		if err != nil {
			return fmt.Errorf("exporting the bench's spans: %w", err)
		}
	}
	exports, err := receivedExports(ctx, rcvURL)
	if err != nil {
		return err
	}
	rep.telemetryBench = &telemetryBench{ObservedDispatchP50us: pm.subject.p50,
		ObservedDispatchOverheadRatio: round3(pm.subject.p50 / rep.NATSRRP50us),
		TelemetryOverheadRatio:        round3(pm.subject.p50 / pm.base.p50), Exports: exports}
	return nil
}

// serveBenchReceiver is the receiver process of the telemetry bench: an
// OTLP/HTTP trace receiver that takes exports without keeping them, until
// stopped.
func serveBenchReceiver(ctx context.Context, env *cliEnv) error {
	rcv, err := otlptest.Start()
	if err != nil {
		return err
	}
	defer rcv.Close()
	rcv.Discard = true
	fmt.Fprintln(env.stdout, rcv.URL)
	<-ctx.Done()
	return nil
}

// receivedExports asks the receiver at url how many exports it took.
func receivedExports(ctx context.Context, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/exports", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("asking the bench's trace receiver: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(string(body))
}

// oneSubtask runs a one-subtask plan of capability on r.
func oneSubtask(ctx context.Context, r *router.Router, capability string) func() error {
	one := task.Plan{Tasks: []task.Subtask{{ID: "t1", Capability: capability, Input: "x", Deps: []string{}}}}
	return func() error {
		if resp := r.Run(ctx, task.Request{Input: "bench"}, one, nil); resp.Error != nil {
			return resp.Error
		}
		return nil
	}
}
