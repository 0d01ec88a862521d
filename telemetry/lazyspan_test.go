package telemetry_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/taskrouter/taskrouter/telemetry"
)

// countingReserver reserves spans in their parent's trace, or in trace 9,
// with span ids 1, 2, ..., and counts its reservations.
type countingReserver struct {
	trace.Tracer
	n atomic.Int32
}

func (c *countingReserver) Reserve(ctx context.Context, _ string, _ trace.SpanKind) trace.SpanContext {
	n := c.n.Add(1)
	tid := trace.SpanContextFromContext(ctx).TraceID()
	if !tid.IsValid() {
		tid = trace.TraceID{9}
	}
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{byte(n)}, TraceFlags: trace.FlagsSampled})
}

func (c *countingReserver) Finish(telemetry.Reserved, *[]attribute.KeyValue, codes.Code, string, time.Time) {
}

// A lazy span is reserved only when its context is first asked for, once,
// under the traceparent's remote parent and as of the start it was given;
// until then a context holding it costs the reserver nothing.
func TestLazySpanIsReservedWhenFirstAsked(t *testing.T) {
	const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	parent, _ := telemetry.ParseTraceparent(tp)
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var c countingReserver
	var s telemetry.LazySpan
	s.Init(&c, context.Background(), tp, "work summarize", trace.SpanKindServer, start)
	ctx := trace.ContextWithSpan(context.Background(), &s)
	if n := c.n.Load(); n != 0 {
		t.Fatalf("%d reservations before anyone asked", n)
	}
	sc := trace.SpanContextFromContext(ctx)
	if sc.TraceID() != parent.TraceID() || sc.SpanID() != (trace.SpanID{1}) {
		t.Fatalf("span context %v, want a span of trace %v", sc, parent.TraceID())
	}
	r := s.Reserved()
	if c.n.Load() != 1 || !r.SC.Equal(sc) || !r.Start.Equal(start) || r.Name != "work summarize" || r.Kind != trace.SpanKindServer ||
		!trace.SpanContextFromContext(r.Parent).Equal(parent) {
		t.Fatalf("after asking again: %d reservations, reserved %+v", c.n.Load(), r)
	}
	if trace.SpanFromContext(ctx).IsRecording() {
		t.Error("a lazy span says it records")
	}
}

// Goroutines that ask at once all get the one reservation.
func TestLazySpanReservesOnceUnderConcurrentAsks(t *testing.T) {
	var c countingReserver
	var s telemetry.LazySpan
	s.Init(&c, context.Background(), "", "work x", trace.SpanKindServer, time.Now())
	var wg sync.WaitGroup
	got := make([]trace.SpanContext, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = s.SpanContext()
		}()
	}
	wg.Wait()
	for _, sc := range got {
		if !sc.Equal(got[0]) || sc.TraceID() != (trace.TraceID{9}) {
			t.Fatalf("span contexts %v", got)
		}
	}
	if n := c.n.Load(); n != 1 {
		t.Fatalf("%d reservations", n)
	}
}

// Without a valid traceparent the span's parent is the context's span; a
// LazySpan never initialised keeps nothing.
func TestLazySpanParentWithoutTraceparent(t *testing.T) {
	outer := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{7}, SpanID: trace.SpanID{7}, TraceFlags: trace.FlagsSampled})
	var c countingReserver
	var s telemetry.LazySpan
	s.Init(&c, trace.ContextWithSpanContext(context.Background(), outer), "not a traceparent", "work x", trace.SpanKindServer, time.Now())
	if r := s.Reserved(); r.SC.TraceID() != outer.TraceID() || !trace.SpanContextFromContext(r.Parent).Equal(outer) {
		t.Fatalf("reserved %+v under %v", r, outer)
	}
	var zero telemetry.LazySpan
	if zero.Kept() {
		t.Error("an uninitialised lazy span is kept")
	}
}
