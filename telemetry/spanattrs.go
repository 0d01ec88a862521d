package telemetry

import (
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/taskrouter/taskrouter/task"
)

// SpanEnd gathers the attributes a span ends with in a recycled buffer:
// the SDK copies attributes as they are set, and every dispatch ends two
// spans, whose attribute slices would otherwise be garbage at once.
type SpanEnd struct {
	attrs []attribute.KeyValue
}

var spanEnds = sync.Pool{New: func() any { return &SpanEnd{attrs: make([]attribute.KeyValue, 0, 12)} }}

// NewSpanEnd returns an empty SpanEnd; End gives it back.
func NewSpanEnd() *SpanEnd { return spanEnds.Get().(*SpanEnd) }

// Add adds attributes.
func (e *SpanEnd) Add(attrs ...attribute.KeyValue) { e.attrs = append(e.attrs, attrs...) }

// End sets the attributes on span, with an error status and the error's
// code when err is set, ends the span with opts, and recycles e, which
// must not be used after.
func (e *SpanEnd) End(span trace.Span, err *task.Error, opts ...trace.SpanEndOption) {
	if code, description := e.status(err); code != codes.Unset {
		span.SetStatus(code, description)
	}
	span.SetAttributes(e.attrs...)
	span.End(opts...)
	e.recycle()
}

// Finish records the reserved span r as ended at end, as End ends a
// started one, and recycles e, which must not be used after.
func (e *SpanEnd) Finish(r Reserved, err *task.Error, end time.Time) {
	code, description := e.status(err)
	r.Tracer.Finish(r, &e.attrs, code, description, end)
	e.recycle()
}

// status is the status a span ends with after err, whose code it adds
// to the attributes.
func (e *SpanEnd) status(err *task.Error) (codes.Code, string) {
	if err == nil {
		return codes.Unset, ""
	}
	e.Add(AttrErrorCode.String(string(err.Code)), AttrErrorType.String(string(err.Code)))
	return codes.Error, err.Message
}

// recycle gives e back unused.
func (e *SpanEnd) recycle() {
	clear(e.attrs)
	e.attrs = e.attrs[:0]
	spanEnds.Put(e)
}
