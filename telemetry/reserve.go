package telemetry

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Reserver is a tracer that can reserve a span on the request's path and
// record it later, off that path: the span's ids and the sampler's
// decision are known at once (the trace context goes out with the work,
// and the work's own calls are the span's children), while the span is
// recorded, whole, once it has ended. tracing.Tracer is one.
type Reserver interface {
	trace.Tracer
	// Reserve returns the context a span named name of kind would get if
	// it were started now under ctx, without starting it: new ids, and
	// whether the sampler keeps it.
	Reserve(ctx context.Context, name string, kind trace.SpanKind) trace.SpanContext
	// Finish records the span r, which ended at end, with the attributes
	// in *attrs and the status code and description. It may keep *attrs
	// for the span, leaving an empty slice to reuse in its place.
	Finish(r Reserved, attrs *[]attribute.KeyValue, code codes.Code, description string, end time.Time)
}

// Reserved is a span reserved on the request's path, to be recorded when
// it ends (Ender.Record).
type Reserved struct {
	Tracer Reserver
	Parent context.Context
	SC     trace.SpanContext
	Name   string
	Kind   trace.SpanKind
	Start  time.Time
}

// Reserve reserves a span named name of kind under ctx with t, as of now.
func Reserve(t Reserver, ctx context.Context, name string, kind trace.SpanKind) Reserved {
	return ReserveAt(t, ctx, name, kind, time.Now())
}

// ReserveAt reserves a span as Reserve does, starting at start: a time the
// caller has already read.
func ReserveAt(t Reserver, ctx context.Context, name string, kind trace.SpanKind, start time.Time) Reserved {
	return Reserved{Tracer: t, Parent: ctx, SC: t.Reserve(ctx, name, kind), Name: name, Kind: kind, Start: start}
}

// Kept reports whether there is a span to record: one was reserved and
// its sampler keeps it. Most spans are not kept under a ratio sampler,
// and nothing need be gathered for them.
func (r *Reserved) Kept() bool { return r.Tracer != nil && r.SC.IsSampled() }
