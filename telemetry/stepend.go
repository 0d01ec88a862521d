package telemetry

import "go.opentelemetry.io/otel/attribute"

// StepEnd is what the span of a step ends with, as plain fields: the
// router's attempt spans and the executors' work spans gather it on the
// request's path, and an Ender makes it the span's attributes when it
// records the span, off that path. Gathering attributes on the path cost
// a recycled buffer and a write of each attribute per span, where this
// is one copy of a few fields.
type StepEnd struct {
	// ModelKey names the attribute Model goes under: AttrModel for an
	// attempt, AttrGenAIRequestModel for the work.
	ModelKey attribute.Key
	// RequestID, Capability and Executor are left out when empty; the
	// token counts when both are zero.
	RequestID, SubtaskID, Capability, Model, Executor string
	Attempt                                           int
	InputTokens, OutputTokens                         int
}

// appendTo adds the step's attributes to e.
func (s *StepEnd) appendTo(e *SpanEnd) {
	if s.RequestID != "" {
		e.Add(AttrRequestID.String(s.RequestID))
	}
	e.Add(AttrSubtaskID.String(s.SubtaskID))
	if s.Capability != "" {
		e.Add(AttrCapability.String(s.Capability))
	}
	e.Add(s.ModelKey.String(s.Model), AttrAttempt.Int(s.Attempt))
	if s.Executor != "" {
		e.Add(AttrExecutor.String(s.Executor))
	}
	if s.InputTokens > 0 || s.OutputTokens > 0 {
		e.Add(AttrGenAIInputTokens.Int(s.InputTokens), AttrGenAIOutputTokens.Int(s.OutputTokens))
	}
}

// SpanEnd returns a SpanEnd holding the step's attributes, for a span
// that was started rather than reserved.
func (s *StepEnd) SpanEnd() *SpanEnd {
	e := NewSpanEnd()
	s.appendTo(e)
	return e
}
