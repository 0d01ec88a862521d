package tracing

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/taskrouter/taskrouter/telemetry"
)

// Tracer is the SDK's tracer that can also reserve spans
// (telemetry.Reserver): the router and the executors reserve the spans of
// attempts and work on the request's path, and an Ender records them off
// it, with the ids and the sampler's decision they were reserved with.
type Tracer struct {
	trace.Tracer
	sampler sdktrace.Sampler
}

var _ telemetry.Reserver = (*Tracer)(nil)

// Reserve implements telemetry.Reserver as the SDK starts a span: the
// parent's trace, or a new one; a new span id; the sampler's decision,
// which the SDK reaches again when Record starts the span, since every
// sampler taskrouter configures decides from the parent and the trace id.
func (t *Tracer) Reserve(ctx context.Context, name string, kind trace.SpanKind) trace.SpanContext {
	parent := trace.SpanContextFromContext(ctx)
	tid := parent.TraceID()
	if !tid.IsValid() {
		tid = newTraceID()
	}
	res := t.sampler.ShouldSample(sdktrace.SamplingParameters{ParentContext: ctx, TraceID: tid, Name: name, Kind: kind})
	flags := parent.TraceFlags() &^ trace.FlagsSampled
	if res.Decision == sdktrace.RecordAndSample {
		flags |= trace.FlagsSampled
	}
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: newSpanID(), TraceFlags: flags, TraceState: res.Tracestate})
}

// Record implements telemetry.Reserver: the SDK starts the span with the
// reserved ids, which presetIDs hands it from the context.
func (t *Tracer) Record(parent context.Context, sc trace.SpanContext, name string, kind trace.SpanKind, start time.Time) trace.Span {
	ctx := context.WithValue(parent, presetKey{}, sc)
	_, span := t.Start(ctx, name, trace.WithSpanKind(kind), trace.WithTimestamp(start))
	return span
}

// presetIDs is the provider's id generator: random ids, as the SDK's own,
// but the reserved ones for a span Record starts.
type presetIDs struct{}

type presetKey struct{}

func (presetIDs) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	if sc, ok := ctx.Value(presetKey{}).(trace.SpanContext); ok {
		return sc.TraceID(), sc.SpanID()
	}
	return newTraceID(), newSpanID()
}

func (presetIDs) NewSpanID(ctx context.Context, tid trace.TraceID) trace.SpanID {
	if sc, ok := ctx.Value(presetKey{}).(trace.SpanContext); ok && sc.TraceID() == tid {
		return sc.SpanID()
	}
	return newSpanID()
}

func newTraceID() trace.TraceID {
	var tid trace.TraceID
	for !tid.IsValid() {
		binary.NativeEndian.PutUint64(tid[:8], rand.Uint64())
		binary.NativeEndian.PutUint64(tid[8:], rand.Uint64())
	}
	return tid
}

func newSpanID() trace.SpanID {
	var sid trace.SpanID
	for !sid.IsValid() {
		binary.NativeEndian.PutUint64(sid[:], rand.Uint64())
	}
	return sid
}
