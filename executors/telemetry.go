package executors

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/taskrouter/taskrouter/task"
	"github.com/taskrouter/taskrouter/telemetry"
)

// Metrics is what an executor measures. Implementations must be safe for
// concurrent use and cheap.
type Metrics interface {
	// WorkEnded counts one subtask the executor ran, by model and
	// outcome (task.StatusDone, StatusFailed or StatusCancelled), and how
	// long its model took.
	WorkEnded(model string, status task.Status, took time.Duration)
}

// observation is one subtask being measured and traced.
type observation struct {
	e    *Executor
	w    *task.Work
	span trace.Span
	// lazy, instead of span with a tracer that reserves, is reserved when
	// the model first asks for it, or after the answer.
	lazy    telemetry.LazySpan
	started time.Time
}

var (
	workSpanNames = telemetry.NewSpanNames("work ")
	serverKind    = trace.WithSpanKind(trace.SpanKindServer)
)

// observe starts measuring and tracing a subtask: a span that is a child
// of the router's attempt span (from the work's traceparent), and the
// context the model runs in. Without metrics and tracer it costs nothing.
// The span's attributes are all set when it ends, in one call: set at its
// start too, they cost the SDK three more allocations a span, and no
// sampler that taskrouter configures looks at them.
func (e *Executor) observe(ctx context.Context, w *task.Work) (context.Context, *observation) {
	if e.cfg.Metrics == nil && e.cfg.Tracer == nil {
		return ctx, nil
	}
	o := &observation{e: e, w: w, started: time.Now()}
	if t := e.cfg.Tracer; t != nil {
		name := workSpanNames.Of(w.Capability)
		if rt, ok := t.(telemetry.Reserver); ok {
			// Reserved when the model's own spans ask for their parent,
			// or after the reply, and recorded after it: off its path.
			o.lazy.Init(rt, ctx, w.Traceparent, name, trace.SpanKindServer, o.started)
			return trace.ContextWithSpan(ctx, &o.lazy), o
		}
		ctx, o.span = t.Start(telemetry.ContextWithTraceparent(ctx, w.Traceparent), name, serverKind)
	}
	return ctx, o
}

// end records the subtask's outcome, which came at ended; o may be nil.
func (o *observation) end(out task.Output, err error, ended time.Time) {
	if o == nil {
		return
	}
	te := task.AsError(err)
	if m := o.e.cfg.Metrics; m != nil {
		status := task.StatusDone
		switch {
		case te != nil && te.Code == task.CodeCancelled:
			status = task.StatusCancelled
		case te != nil:
			status = task.StatusFailed
		}
		m.WorkEnded(o.w.Model, status, ended.Sub(o.started))
	}
	if o.span != nil || o.lazy.Kept() {
		o.endSpan(out, te, ended)
	}
}

func (o *observation) endSpan(out task.Output, te *task.Error, ended time.Time) {
	step := telemetry.StepEnd{ModelKey: telemetry.AttrGenAIRequestModel, RequestID: o.w.RequestID, SubtaskID: o.w.SubtaskID,
		Model: o.w.Model, Attempt: o.w.Attempt}
	if te == nil {
		step.InputTokens, step.OutputTokens = out.Usage.PromptTokens, out.Usage.CompletionTokens
	}
	if o.span == nil {
		o.e.spans.Record(o.lazy.Reserved(), &step, te, ended)
		return
	}
	o.e.spans.End(o.span, step.SpanEnd(), te, ended)
}
