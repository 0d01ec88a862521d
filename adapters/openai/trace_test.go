package openai

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/task"
	"github.com/taskrouter/taskrouter/telemetry"
)

// An upstream call is a client span with the GenAI semantic conventions'
// attributes, a child of the caller's span, and its trace context goes
// upstream in the traceparent header.
func TestUpstreamCallSpan(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	s.Script("gpt-test", openaitest.Behaviour{Reply: "Bonjour le monde"})
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	m := newModel(t, testSpec(s, "gpt-test"), testKey, WithTracer(tp.Tracer("test")))
	ctx, parent := tp.Tracer("test").Start(context.Background(), "work")
	for _, progress := range []func(string){nil, func(string) {}} {
		if _, err := m.Generate(ctx, task.Work{Capability: "chat", Input: "Say hello in French"}, progress); err != nil {
			t.Fatal(err)
		}
	}
	parent.End()
	ended := spans.Ended()
	if len(ended) != 3 {
		t.Fatalf("%d spans", len(ended))
	}
	for i, streaming := range []bool{false, true} {
		call := ended[i]
		attrs := map[attribute.Key]attribute.Value{}
		for _, kv := range call.Attributes() {
			attrs[kv.Key] = kv.Value
		}
		if call.Name() != "chat gpt-test" || call.SpanKind() != trace.SpanKindClient || call.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("span %q kind %v parent %v", call.Name(), call.SpanKind(), call.Parent())
		}
		for k, want := range map[attribute.Key]string{
			telemetry.AttrGenAIOperation: "chat", telemetry.AttrGenAIRequestModel: "gpt-test", telemetry.AttrGenAIResponseModel: "gpt-test",
			telemetry.AttrServerAddress: "127.0.0.1", telemetry.AttrGenAIMaxTokens: "256",
		} {
			if got := attrs[k].Emit(); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
		if attrs[telemetry.AttrGenAIInputTokens].AsInt64() <= 0 || attrs[telemetry.AttrGenAIOutputTokens].AsInt64() != 3 ||
			attrs[telemetry.AttrGenAIStreaming].AsBool() != streaming {
			t.Errorf("usage %v/%v streaming %v", attrs[telemetry.AttrGenAIInputTokens], attrs[telemetry.AttrGenAIOutputTokens], attrs[telemetry.AttrGenAIStreaming])
		}
	}
	rec, _ := s.Last("gpt-test")
	sc, ok := telemetry.ParseTraceparent(rec.Header.Get("traceparent"))
	if !ok || sc.SpanID() != ended[1].SpanContext().SpanID() {
		t.Errorf("the upstream got traceparent %q, want the call span's", rec.Header.Get("traceparent"))
	}
}
