package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/taskrouter/taskrouter/adapters/httpapi"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/telemetry/metrics"
	"github.com/taskrouter/taskrouter/telemetry/tracing"
)

// newLogger writes logs to stderr as text or, with log.format json, one
// JSON object a line.
func newLogger(env *cliEnv, level, format string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(env.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(env.stderr, opts))
}

// startTelemetry starts what the process exports: traces when the OTEL_*
// variables ask for them, as service, and metrics when parts want them.
// Bad OTEL_* values are usage errors, reported before anything connects.
func (a *app) startTelemetry(ctx context.Context, parts appParts) error {
	if parts.metrics {
		a.metrics = metrics.New()
	}
	if parts.service == "" {
		return nil
	}
	tc, err := tracing.FromEnv(a.getenv, parts.service)
	if err != nil {
		return usageError{fmt.Sprintf("tracing: %v", err)}
	}
	tc.ServiceVersion = buildVersion()
	if a.tracing, err = tracing.Start(ctx, tc); err != nil {
		return usageError{fmt.Sprintf("tracing: %v", err)}
	}
	if a.tracing != nil {
		// The SDK reports failed exports to a global handler; route them
		// to the process's log.
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { a.log.Warn("exporting traces", "err", err) }))
		a.log.Info("exporting traces", "endpoint", redactURL(tc.Endpoint), "service", tc.ServiceName)
	}
	return nil
}

// redactURL hides a URL's password, for logs.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// buildVersion is the main module's version, for service.version.
func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// tracer is the tracer the packages record spans with; nil when off.
func (a *app) tracer() trace.Tracer { return a.tracing.Tracer() }

// routerMetrics, executorMetrics and httpMetrics are the metrics as the
// packages take them: a nil interface when metrics are off, never a
// typed nil.
func (a *app) routerMetrics() router.Metrics {
	if a.metrics == nil {
		return nil
	}
	return a.metrics
}

func (a *app) executorMetrics() executors.Metrics {
	if a.metrics == nil {
		return nil
	}
	return a.metrics
}

func (a *app) httpMetrics() (httpapi.Metrics, http.Handler) {
	if a.metrics == nil {
		return nil, nil
	}
	return a.metrics, a.metrics.Handler()
}

// stopTracing exports the spans still buffered.
func (a *app) stopTracing() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.tracing.Shutdown(ctx); err != nil {
		a.log.Warn("exporting the last traces", "err", err)
	}
}

// serveMetrics serves GET /metrics on addr, for an executor, until ctx
// ends; it returns the address it listens on.
func (a *app) serveMetrics(ctx context.Context, addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", unavailableError{fmt.Errorf("listening on --metrics-addr %s: %w", addr, err)}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.metrics.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("serving metrics", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	return ln.Addr().String(), nil
}
