package tracing

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/taskrouter/taskrouter/telemetry"
)

// Tracer is the SDK's tracer that can also reserve spans
// (telemetry.Reserver): the router and the executors reserve the spans of
// attempts and work on the request's path, and an Ender records them off
// it, whole, with the ids and the sampler's decision they were reserved
// with. A reserved span never becomes one of the SDK's live spans: it
// goes to the provider's batcher as the read-only span the SDK's would
// have ended as, which costs a fraction of starting, filling and ending
// one.
type Tracer struct {
	trace.Tracer
	sampler sdktrace.Sampler
	batcher sdktrace.SpanProcessor
	scope   instrumentation.Scope
	res     *resource.Resource
	limits  spanLimits
	spare   *spareSpans
}

var _ telemetry.Reserver = (*Tracer)(nil)

// Reserve implements telemetry.Reserver as the SDK starts a span: the
// parent's trace, or a new one; a new span id; the sampler's decision.
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

// Finish implements telemetry.Reserver: the span, under the attribute
// limits the SDK's would have, goes to the batcher that exports the
// SDK's spans.
func (t *Tracer) Finish(r telemetry.Reserved, attrs *[]attribute.KeyValue, code codes.Code, description string, end time.Time) {
	if !r.SC.IsSampled() {
		return
	}
	s := t.spare.get()
	*s = finished{name: r.Name, sc: r.SC, parent: trace.SpanContextFromContext(r.Parent), kind: r.Kind,
		start: r.Start, end: end, attrs: s.attrs[:0], status: sdktrace.Status{Code: code, Description: description}, tracer: t}
	if t.limits.keep(*attrs) {
		// The span takes the attributes as they are, and leaves its own
		// empty slice for the next.
		s.attrs, *attrs = *attrs, s.attrs
	} else {
		s.attrs, s.dropped = t.limits.appendTo(s.attrs, *attrs)
	}
	t.batcher.OnEnd(s)
}

// finished is a reserved span as it ended, read-only, as the batcher
// and the exporter read the SDK's own. It embeds the interface only for
// its unexported method; finished has all the others.
type finished struct {
	sdktrace.ReadOnlySpan
	name       string
	sc, parent trace.SpanContext
	kind       trace.SpanKind
	start, end time.Time
	attrs      []attribute.KeyValue
	dropped    int
	status     sdktrace.Status
	tracer     *Tracer
}

func (s *finished) Name() string                                { return s.name }
func (s *finished) SpanContext() trace.SpanContext              { return s.sc }
func (s *finished) Parent() trace.SpanContext                   { return s.parent }
func (s *finished) SpanKind() trace.SpanKind                    { return s.kind }
func (s *finished) StartTime() time.Time                        { return s.start }
func (s *finished) EndTime() time.Time                          { return s.end }
func (s *finished) Attributes() []attribute.KeyValue            { return s.attrs }
func (s *finished) Links() []sdktrace.Link                      { return nil }
func (s *finished) Events() []sdktrace.Event                    { return nil }
func (s *finished) Status() sdktrace.Status                     { return s.status }
func (s *finished) InstrumentationScope() instrumentation.Scope { return s.tracer.scope }

//nolint:staticcheck // the interface still has it, and exporters may read it.
func (s *finished) InstrumentationLibrary() instrumentation.Library { return s.tracer.scope }
func (s *finished) Resource() *resource.Resource                    { return s.tracer.res }
func (s *finished) DroppedAttributes() int                          { return s.dropped }
func (s *finished) DroppedLinks() int                               { return 0 }
func (s *finished) DroppedEvents() int                              { return 0 }
func (s *finished) ChildSpanCount() int                             { return 0 }

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

// spanLimits are the limits of the SDK's spans (sdktrace.NewSpanLimits:
// OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT, OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT
// and their OTEL_ATTRIBUTE_ forms) that bear on a reserved span's
// attributes, which are strings and integers.
type spanLimits struct {
	count, length int // negative: none
}

func spanLimitsFromEnv() spanLimits {
	l := sdktrace.NewSpanLimits()
	return spanLimits{count: l.AttributeCountLimit, length: l.AttributeValueLengthLimit}
}

// keep reports whether attrs are all valid and within the limits as they
// are.
func (l spanLimits) keep(attrs []attribute.KeyValue) bool {
	if l.count >= 0 && len(attrs) > l.count {
		return false
	}
	for i := range attrs {
		a := &attrs[i]
		if !a.Valid() || l.length >= 0 && a.Value.Type() == attribute.STRING && len(a.Value.AsString()) > l.length {
			return false
		}
	}
	return true
}

// appendTo appends attrs to dst within the limits, without the invalid
// ones, and says how many were dropped; strings over the length limit
// are cut to that many characters, as the SDK cuts them.
func (l spanLimits) appendTo(dst, attrs []attribute.KeyValue) ([]attribute.KeyValue, int) {
	n := len(attrs)
	if l.count >= 0 {
		n = min(n, l.count)
	}
	kept := 0
	for _, a := range attrs {
		if !a.Valid() || kept == n {
			continue
		}
		if a.Value.Type() == attribute.STRING && l.length >= 0 && len(a.Value.AsString()) > l.length {
			a.Value = attribute.StringValue(cutRunes(a.Value.AsString(), l.length))
		}
		dst = append(dst, a)
		kept++
	}
	return dst, len(attrs) - kept
}

// cutRunes returns the first n characters of s.
func cutRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// spareSpans keeps the finished spans the exporter is done with, for
// Finish to reuse: every traced dispatch finishes two, and they and
// their attributes were most of tracing's garbage. Not a sync.Pool: a
// span waits in the batcher for its batch to fill, across garbage
// collections, which empty a pool.
type spareSpans struct {
	mu    sync.Mutex
	spans []*finished
}

// maxSpareSpans bounds what a spareSpans keeps: a batcher's whole queue,
// at its default size, and the same again.
const maxSpareSpans = 4096

// get returns a spare span, or a new one; a nil spareSpans keeps none.
func (sp *spareSpans) get() *finished {
	if sp == nil {
		return &finished{}
	}
	sp.mu.Lock()
	n := len(sp.spans)
	if n == 0 {
		sp.mu.Unlock()
		return &finished{}
	}
	s := sp.spans[n-1]
	sp.spans[n-1] = nil
	sp.spans = sp.spans[:n-1]
	sp.mu.Unlock()
	return s
}

func (sp *spareSpans) put(s *finished) {
	clear(s.attrs)
	*s = finished{attrs: s.attrs[:0]}
	sp.mu.Lock()
	if len(sp.spans) < maxSpareSpans {
		sp.spans = append(sp.spans, s)
	}
	sp.mu.Unlock()
}

// recycleFinished gives back the finished spans among spans, once the
// exporter has encoded them: it is the last to read them (the batcher
// hands each batch to it alone and forgets it).
func recycleFinished(spans []sdktrace.ReadOnlySpan) {
	for _, s := range spans {
		if f, ok := s.(*finished); ok && f.tracer.spare != nil {
			f.tracer.spare.put(f)
		}
	}
}
