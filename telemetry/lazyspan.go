package telemetry

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// LazySpan is a span reserved (Reserver) only when something first asks
// for its context. An executor puts one in the context its model runs in:
// a remote model's HTTP call asks for it at once, to be its child, while a
// built-in model starts no spans and never asks, so its work's span is
// reserved after the answer has gone, off the request's path. In a
// context it stands for its span context as the span of
// trace.ContextWithSpanContext does, and records nothing itself. It is
// safe for concurrent use once Init has returned.
type LazySpan struct {
	noop.Span // the other methods of a span that records nothing

	once        sync.Once
	t           Reserver
	ctx         context.Context // until reserved
	traceparent string
	name        string
	kind        trace.SpanKind
	start       time.Time
	r           Reserved
}

// Init makes s the span named name of kind to be reserved with t under
// ctx, or under the remote parent of traceparent when that is valid, as
// of start.
func (s *LazySpan) Init(t Reserver, ctx context.Context, traceparent, name string, kind trace.SpanKind, start time.Time) {
	s.t, s.ctx, s.traceparent, s.name, s.kind, s.start = t, ctx, traceparent, name, kind, start
}

// SpanContext implements trace.Span: the reserved span's context.
func (s *LazySpan) SpanContext() trace.SpanContext { return s.Reserved().SC }

// Reserved reserves the span, if that was not done yet, and returns it.
func (s *LazySpan) Reserved() Reserved {
	s.once.Do(func() {
		parent := ContextWithTraceparent(s.ctx, s.traceparent)
		s.r = ReserveAt(s.t, parent, s.name, s.kind, s.start)
		s.ctx = nil
	})
	return s.r
}

// Kept reports whether s was initialised and its sampler keeps it
// (Reserved.Kept), reserving it if need be.
func (s *LazySpan) Kept() bool {
	if s.t == nil {
		return false
	}
	r := s.Reserved()
	return r.Kept()
}
