package tracing

import (
	"context"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func reservingTracer(sampler sdktrace.Sampler) (*Tracer, *tracetest.SpanRecorder) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithIDGenerator(presetIDs{}), sdktrace.WithSpanProcessor(rec))
	return &Tracer{Tracer: tp.Tracer("test"), sampler: sampler}, rec
}

// A reserved span is recorded with the ids, the parent, the start time
// and the sampling decision it was reserved with, under a remote parent
// and as a root.
func TestReservedSpansAreRecordedAsReserved(t *testing.T) {
	tr, rec := reservingTracer(sdktrace.ParentBased(sdktrace.AlwaysSample()))
	remote := trace.NewSpanContext(trace.SpanContextConfig{TraceID: newTraceID(), SpanID: newSpanID(), TraceFlags: trace.FlagsSampled, Remote: true})
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, parent := range []context.Context{trace.ContextWithRemoteSpanContext(context.Background(), remote), context.Background()} {
		sc := tr.Reserve(parent, "work summarize", trace.SpanKindServer)
		if !sc.IsSampled() || !sc.IsValid() {
			t.Fatalf("reserved %v", sc)
		}
		span := tr.Record(parent, sc, "work summarize", trace.SpanKindServer, start)
		span.End(trace.WithTimestamp(start.Add(time.Second)))
		got := rec.Ended()[len(rec.Ended())-1]
		if got.SpanContext().TraceID() != sc.TraceID() || got.SpanContext().SpanID() != sc.SpanID() || !got.StartTime().Equal(start) ||
			got.SpanKind() != trace.SpanKindServer || got.Parent().SpanID() != trace.SpanContextFromContext(parent).SpanID() {
			t.Fatalf("recorded %v (parent %v, start %v), reserved %v", got.SpanContext(), got.Parent(), got.StartTime(), sc)
		}
	}
}

// The sampler decides a reserved span as the SDK then does when it
// records it: a ratio sampler keeps the same spans, and a parent that
// was not sampled is not sampled under it.
func TestReservedSamplingMatchesTheSDKs(t *testing.T) {
	tr, _ := reservingTracer(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.5)))
	kept := 0
	for range 400 {
		sc := tr.Reserve(context.Background(), "subtask x", trace.SpanKindClient)
		span := tr.Record(context.Background(), sc, "subtask x", trace.SpanKindClient, time.Now())
		if span.SpanContext().IsSampled() != sc.IsSampled() || span.SpanContext().SpanID() != sc.SpanID() {
			t.Fatalf("reserved %v, recorded %v", sc, span.SpanContext())
		}
		if sc.IsSampled() {
			kept++
		}
		span.End()
	}
	if kept < 100 || kept > 300 {
		t.Fatalf("a ratio of 0.5 kept %d of 400", kept)
	}
	unsampled := trace.NewSpanContext(trace.SpanContextConfig{TraceID: newTraceID(), SpanID: newSpanID(), Remote: true})
	if sc := tr.Reserve(trace.ContextWithRemoteSpanContext(context.Background(), unsampled), "work x", trace.SpanKindServer); sc.IsSampled() {
		t.Fatalf("sampled under an unsampled parent: %v", sc)
	}
}
