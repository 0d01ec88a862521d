package telemetry_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/taskrouter/taskrouter/task"
	"github.com/taskrouter/taskrouter/telemetry"
)

// A recycled SpanEnd carries nothing of the span it ended before: each
// span gets its own attributes, and a failed one its error's status and
// code.
func TestSpanEndRecyclesNothingOfTheLastSpan(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tracer := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)).Tracer("test")
	for i := range 50 {
		_, failed := tracer.Start(context.Background(), "failed")
		e := telemetry.NewSpanEnd()
		e.Add(telemetry.AttrSubtaskID.String("t1"), telemetry.AttrAttempt.Int(i))
		e.End(failed, &task.Error{Code: task.CodeUpstream, Message: "the upstream broke"})
		_, ok := tracer.Start(context.Background(), "ok")
		e = telemetry.NewSpanEnd()
		e.Add(telemetry.AttrModel.String("m"))
		e.End(ok, nil)
	}
	for _, s := range spans.Ended() {
		attrs := map[string]string{}
		for _, kv := range s.Attributes() {
			attrs[string(kv.Key)] = kv.Value.Emit()
		}
		switch s.Name() {
		case "failed":
			if len(attrs) != 4 || attrs["taskrouter.error.code"] != string(task.CodeUpstream) || attrs["error.type"] != string(task.CodeUpstream) ||
				s.Status().Code != codes.Error || s.Status().Description != "the upstream broke" {
				t.Fatalf("failed span: status %v, attributes %v", s.Status(), attrs)
			}
		case "ok":
			if len(attrs) != 1 || attrs["taskrouter.model"] != "m" || s.Status().Code != codes.Unset {
				t.Fatalf("ok span: status %v, attributes %v", s.Status(), attrs)
			}
		}
	}
}
