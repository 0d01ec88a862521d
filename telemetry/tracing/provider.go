package tracing

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/taskrouter/taskrouter/telemetry"
)

// Provider is a running tracer provider: Tracer for the packages to trace
// with, Shutdown to flush what is buffered when the process stops.
type Provider struct {
	tp     *sdktrace.TracerProvider
	tracer *Tracer
}

// Start builds the exporter and the provider; it opens no connection (the
// first export does). It fails on a config it cannot use; with tracing
// off it returns nil, whose Tracer is nil.
func Start(ctx context.Context, c Config) (*Provider, error) {
	if !c.Enabled {
		return nil, nil
	}
	exp, err := NewExporter(c)
	if err != nil {
		return nil, fmt.Errorf("starting the OTLP trace exporter: %w", err)
	}
	res, err := resource.New(ctx, resource.WithAttributes(append(c.Attributes,
		semconv.ServiceName(c.ServiceName), semconv.ServiceVersion(c.ServiceVersion))...),
		resource.WithHost(), resource.WithProcessPID(), resource.WithTelemetrySDK())
	if err != nil {
		return nil, fmt.Errorf("describing this process for traces: %w", err)
	}
	sampler := c.Sampler
	if sampler == nil {
		sampler = sdktrace.ParentBased(sdktrace.AlwaysSample())
	}
	batcher := sdktrace.NewBatchSpanProcessor(exp)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(batcher), sdktrace.WithResource(res), sdktrace.WithSampler(sampler))
	return &Provider{tp: tp, tracer: &Tracer{Tracer: tp.Tracer(telemetry.InstrumentationName), sampler: sampler, batcher: batcher,
		scope: instrumentation.Scope{Name: telemetry.InstrumentationName}, res: res, limits: spanLimitsFromEnv(), spare: &spareSpans{}}}, nil
}

// Tracer returns the tracer taskrouter's packages record spans with, or
// nil (tracing off) on a nil Provider.
func (p *Provider) Tracer() trace.Tracer {
	if p == nil {
		return nil
	}
	return p.tracer
}

// Shutdown exports what is buffered, until ctx ends, and stops. It is safe
// on a nil Provider.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p == nil {
		return nil
	}
	return p.tp.Shutdown(ctx)
}
