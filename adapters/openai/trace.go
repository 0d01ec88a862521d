package openai

import (
	"context"
	"net/url"
	"strconv"

	goopenai "github.com/sashabaranov/go-openai"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/taskrouter/taskrouter/task"
	"github.com/taskrouter/taskrouter/telemetry"
)

// WithTracer records a span for every upstream call, with the
// OpenTelemetry semantic conventions' gen_ai.* attributes, and sends its
// trace context upstream in a traceparent header.
func WithTracer(t trace.Tracer) Option {
	return func(cfg *config) error {
		cfg.tracer = t
		return nil
	}
}

// startCallSpan starts the span of one upstream chat completion; nil when
// tracing is off.
func (m *Model) startCallSpan(ctx context.Context, req *goopenai.ChatCompletionRequest, streaming bool) (context.Context, trace.Span) {
	if m.tracer == nil {
		return ctx, nil
	}
	attrs := []attribute.KeyValue{
		telemetry.AttrGenAIOperation.String("chat"), telemetry.AttrGenAIProvider.String("openai"),
		telemetry.AttrGenAIRequestModel.String(req.Model), telemetry.AttrGenAIStreaming.Bool(streaming),
		telemetry.AttrModel.String(m.spec.Name),
	}
	if u, err := url.Parse(m.spec.BaseURL); err == nil {
		attrs = append(attrs, telemetry.AttrServerAddress.String(u.Hostname()))
		if p, err := strconv.Atoi(u.Port()); err == nil {
			attrs = append(attrs, telemetry.AttrServerPort.Int(p))
		}
	}
	if n := max(req.MaxTokens, req.MaxCompletionTokens); n > 0 {
		attrs = append(attrs, telemetry.AttrGenAIMaxTokens.Int(n))
	}
	if req.Temperature != 0 {
		attrs = append(attrs, telemetry.AttrGenAITemperature.Float64(float64(req.Temperature)))
	}
	if req.TopP != 0 {
		attrs = append(attrs, telemetry.AttrGenAITopP.Float64(float64(req.TopP)))
	}
	return m.tracer.Start(ctx, "chat "+req.Model, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
}

// endCallSpan records the call's usage and finish reason, or its error.
func endCallSpan(span trace.Span, model string, a answer, err error) {
	if span == nil {
		return
	}
	if te := task.AsError(err); te != nil {
		span.SetStatus(codes.Error, te.Message)
		span.SetAttributes(telemetry.AttrErrorType.String(string(te.Code)))
	} else {
		span.SetAttributes(telemetry.AttrGenAIResponseModel.String(model),
			telemetry.AttrGenAIInputTokens.Int(a.usage.PromptTokens), telemetry.AttrGenAIOutputTokens.Int(a.usage.CompletionTokens))
		if a.finish != "" {
			span.SetAttributes(telemetry.AttrGenAIFinishReasons.StringSlice([]string{a.finish}))
		}
	}
	span.End()
}
