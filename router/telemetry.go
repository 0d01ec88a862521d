package router

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/taskrouter/taskrouter/task"
	"github.com/taskrouter/taskrouter/telemetry"
)

// RequestMetrics counts requests and their plans.
type RequestMetrics interface {
	// RequestEnded counts a request that ended, by the way it came in
	// (task.IngressOf) and its status (done, failed or cancelled), and
	// how long it took.
	RequestEnded(ingress string, status task.Status, took time.Duration)
	// Planned counts a plan that runs, by the planner that made it
	// (task.Plan.MadeBy, or "given") and whether it fell back.
	Planned(planner string, fallback bool)
}

// SubtaskMetrics counts subtasks and their attempts.
type SubtaskMetrics interface {
	// SubtaskEnded counts a subtask that ended, with its final state.
	SubtaskEnded(st *task.SubtaskState)
	// Accepted observes how long an attempt waited between its dispatch
	// and an executor's accepting it.
	Accepted(model string, queued time.Duration)
	// Retried counts an attempt that failed and is followed by another,
	// by the model that failed and why.
	Retried(model string, reason task.Code)
}

// Metrics is what the router measures. Implementations must be safe for
// concurrent use and cheap: they are called on the dispatch path.
type Metrics interface {
	RequestMetrics
	SubtaskMetrics
}

// PlannerGiven is the planner label of a plan a request carried, or the
// one-step plan of a request naming its model.
const PlannerGiven = "given"

// statusOf is a response's status for metrics and traces: an answer,
// even a partial one, is done; no answer is failed, or cancelled when
// that is why.
func statusOf(resp task.Response) task.Status {
	switch {
	case resp.Error == nil || resp.Answer != "" || len(resp.ToolCalls) > 0:
		return task.StatusDone
	case resp.Error.Code == task.CodeCancelled:
		return task.StatusCancelled
	}
	return task.StatusFailed
}

// ended records a request's end in the metrics.
func (r *Router) ended(req *task.Request, resp *task.Response, started time.Time) {
	if m := r.cfg.Metrics; m != nil {
		m.RequestEnded(task.IngressOf(*req), statusOf(*resp), time.Since(started))
	}
}

// startPlanSpan starts the span of planning a request; nil when tracing is off.
func (r *Router) startPlanSpan(ctx context.Context, req task.Request) (context.Context, trace.Span) {
	if r.cfg.Tracer == nil {
		return ctx, nil
	}
	return r.cfg.Tracer.Start(ctx, "plan", trace.WithAttributes(telemetry.AttrRequestID.String(req.ID)))
}

func endPlanSpan(span trace.Span, plan task.Plan, err error) {
	if span == nil {
		return
	}
	if err != nil {
		endSpan(span, task.AsError(err))
		return
	}
	endSpan(span, nil, telemetry.AttrPlanner.String(plannerOf(plan)), telemetry.AttrSubtasks.Int(len(plan.Tasks)))
}

func plannerOf(plan task.Plan) string {
	if plan.MadeBy == "" {
		return PlannerGiven
	}
	return plan.MadeBy
}

// attemptSpan is the span of one attempt of a subtask, with what its
// attributes say: started (span), or reserved to be recorded when it
// ends; neither when tracing is off.
type attemptSpan struct {
	span                         trace.Span
	reserved                     telemetry.Reserved
	subtaskID, capability, model string
	attempt                      int
}

var (
	attemptSpanNames = telemetry.NewSpanNames("subtask ")
	clientKind       = trace.WithSpanKind(trace.SpanKindClient)
)

// startAttemptSpan starts the span of one attempt of a subtask, sent at
// start, and puts its trace context in the work, for the executor's
// spans. A tracer that can reserve spans (the command's) only reserves it
// here: the SDK records it once the attempt has ended, off the request's
// path. The span's attributes are all set when it ends (made from a
// StepEnd when it is recorded): set at its start too, they would cost
// the SDK three more allocations a span, and no sampler that taskrouter
// configures looks at them.
func (ru *run) startAttemptSpan(ctx context.Context, w *task.Work, start time.Time) attemptSpan {
	t := ru.r.cfg.Tracer
	if t == nil {
		return attemptSpan{}
	}
	s := attemptSpan{subtaskID: w.SubtaskID, capability: w.Capability, model: w.Model, attempt: w.Attempt}
	name := attemptSpanNames.Of(w.Capability)
	if rt, ok := t.(telemetry.Reserver); ok {
		s.reserved = telemetry.ReserveAt(rt, ctx, name, trace.SpanKindClient, start)
		w.Traceparent = telemetry.FormatTraceparent(s.reserved.SC)
		return s
	}
	_, s.span = t.Start(ctx, name, clientKind, trace.WithTimestamp(start))
	w.Traceparent = telemetry.FormatTraceparent(s.span.SpanContext())
	return s
}

// endAttemptSpan ends an attempt's span, stamped with the time the
// attempt ended, off the request's path (telemetry.Ender); Close ends
// what is left.
func (r *Router) endAttemptSpan(s attemptSpan, a *attempt, ended time.Time) {
	if s.span == nil && !s.reserved.Kept() {
		return
	}
	step := telemetry.StepEnd{ModelKey: telemetry.AttrModel, SubtaskID: s.subtaskID, Capability: s.capability, Model: s.model,
		Attempt: s.attempt, Executor: a.executor}
	if a.err == nil {
		step.InputTokens, step.OutputTokens = a.out.Usage.PromptTokens, a.out.Usage.CompletionTokens
	}
	if s.span == nil {
		r.spans.Record(s.reserved, &step, a.err, ended)
		return
	}
	r.spans.End(s.span, step.SpanEnd(), a.err, ended)
}

// endSpan ends a span with attrs, and with an error status and the
// error's code when err is set.
func endSpan(span trace.Span, err *task.Error, attrs ...attribute.KeyValue) {
	e := telemetry.NewSpanEnd()
	e.Add(attrs...)
	e.End(span, err)
}
