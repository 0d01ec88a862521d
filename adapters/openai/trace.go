package openai

import (
	"context"
	"net/url"
	"strconv"

	goopenai "github.com/sashabaranov/go-openai"
	"github.com/tidwall/gjson"
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

// upstreamCall is what a span says of one upstream call before it is made.
type upstreamCall struct {
	operation         string // gen_ai.operation.name: chat, text_completion, embeddings
	model             string // the upstream model id
	streaming         bool
	maxTokens         int
	temperature, topP float64
}

// startCallSpan starts the span of a chat completion the adapter writes
// itself; nil when tracing is off.
func (m *Model) startCallSpan(ctx context.Context, req *goopenai.ChatCompletionRequest, streaming bool) (context.Context, trace.Span) {
	if m.tracer == nil {
		return ctx, nil
	}
	return m.startSpan(ctx, upstreamCall{operation: "chat", model: req.Model, streaming: streaming,
		maxTokens: max(req.MaxTokens, req.MaxCompletionTokens), temperature: float64(req.Temperature), topP: float64(req.TopP)})
}

// startRelaySpan starts the span of a relayed body, read from the body
// itself; nil when tracing is off.
func (m *Model) startRelaySpan(ctx context.Context, api string, body []byte) (context.Context, trace.Span) {
	if m.tracer == nil {
		return ctx, nil
	}
	op := "chat" // the default API, named or not
	switch api {
	case task.APICompletions:
		op = "text_completion"
	case task.APIEmbeddings:
		op = "embeddings"
	}
	b := gjson.ParseBytes(body)
	return m.startSpan(ctx, upstreamCall{operation: op, model: b.Get("model").Str, streaming: b.Get("stream").Bool(),
		maxTokens:   int(max(b.Get("max_tokens").Int(), b.Get("max_completion_tokens").Int())),
		temperature: b.Get("temperature").Float(), topP: b.Get("top_p").Float()})
}

func (m *Model) startSpan(ctx context.Context, c upstreamCall) (context.Context, trace.Span) {
	attrs := []attribute.KeyValue{
		telemetry.AttrGenAIOperation.String(c.operation), telemetry.AttrGenAIProvider.String("openai"),
		telemetry.AttrGenAIRequestModel.String(c.model), telemetry.AttrGenAIStreaming.Bool(c.streaming),
		telemetry.AttrModel.String(m.spec.Name),
	}
	if u, err := url.Parse(m.spec.BaseURL); err == nil {
		attrs = append(attrs, telemetry.AttrServerAddress.String(u.Hostname()))
		if p, err := strconv.Atoi(u.Port()); err == nil {
			attrs = append(attrs, telemetry.AttrServerPort.Int(p))
		}
	}
	if c.maxTokens > 0 {
		attrs = append(attrs, telemetry.AttrGenAIMaxTokens.Int(c.maxTokens))
	}
	if c.temperature != 0 {
		attrs = append(attrs, telemetry.AttrGenAITemperature.Float64(c.temperature))
	}
	if c.topP != 0 {
		attrs = append(attrs, telemetry.AttrGenAITopP.Float64(c.topP))
	}
	return m.tracer.Start(ctx, c.operation+" "+c.model, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
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
