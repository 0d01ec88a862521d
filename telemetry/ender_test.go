package telemetry_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/taskrouter/taskrouter/task"
	"github.com/taskrouter/taskrouter/telemetry"
)

// An Ender ends every span it is given, with the time and the attributes
// it was given, whether its timer or Close ends them, and at once after
// Close.
func TestEnderEndsEverySpanAtItsOwnTime(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tracer := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)).Tracer("test")
	ender := telemetry.NewEnder(time.Millisecond)
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	const writers, each = 8, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				_, span := tracer.Start(context.Background(), "attempt", trace.WithTimestamp(base))
				e := telemetry.NewSpanEnd()
				e.Add(telemetry.AttrAttempt.Int(w*each + i))
				var err *task.Error
				if i%10 == 0 {
					err = &task.Error{Code: task.CodeUpstream, Message: "broke"}
				}
				ender.End(span, e, err, base.Add(time.Duration(w*each+i)*time.Second))
				if i%50 == 0 {
					time.Sleep(2 * time.Millisecond) // let the timer end some
				}
			}
		}()
	}
	wg.Wait()
	ender.Close()
	ended := spans.Ended()
	if len(ended) != writers*each {
		t.Fatalf("%d spans ended of %d", len(ended), writers*each)
	}
	seen := map[int64]bool{}
	for _, s := range ended {
		n := s.Attributes()[0].Value.AsInt64()
		if seen[n] || s.EndTime() != base.Add(time.Duration(n)*time.Second) || (n%each%10 == 0) != (len(s.Attributes()) == 3) {
			t.Fatalf("span %d: seen before %v, ended at %v, attributes %v", n, seen[n], s.EndTime(), s.Attributes())
		}
		seen[n] = true
	}
	_, late := tracer.Start(context.Background(), "late")
	ender.End(late, telemetry.NewSpanEnd(), nil, base)
	if got := spans.Ended(); len(got) != writers*each+1 || got[len(got)-1].Name() != "late" {
		t.Fatalf("a span given after Close is not ended at once")
	}
}

// A span the Ender holds is ended by its timer, without Close.
func TestEnderEndsWithinItsDelay(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tracer := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)).Tracer("test")
	ender := telemetry.NewEnder(time.Millisecond)
	defer ender.Close()
	_, span := tracer.Start(context.Background(), "attempt")
	ender.End(span, telemetry.NewSpanEnd(), nil, time.Now())
	deadline := time.Now().Add(10 * time.Second)
	for len(spans.Ended()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the span was never ended")
		}
		time.Sleep(time.Millisecond)
	}
}

// fakeReserver reserves with fixed sampling and keeps what it is given
// to finish.
type fakeReserver struct {
	trace.Tracer
	sampled  bool
	finished *[]finishedSpan
}

type finishedSpan struct {
	name       string
	start, end time.Time
	attrs      []attribute.KeyValue
	code       codes.Code
	desc       string
}

func (f fakeReserver) Reserve(context.Context, string, trace.SpanKind) trace.SpanContext {
	cfg := trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}}
	if f.sampled {
		cfg.TraceFlags = trace.FlagsSampled
	}
	return trace.NewSpanContext(cfg)
}

func (f fakeReserver) Finish(r telemetry.Reserved, attrs *[]attribute.KeyValue, code codes.Code, desc string, end time.Time) {
	*f.finished = append(*f.finished, finishedSpan{name: r.Name, start: r.Start, end: end, attrs: slices.Clone(*attrs), code: code, desc: desc})
}

// A reserved span is recorded when its batch ends, with the times it
// had, its attributes and the error's status and code; one its sampler
// dropped is not recorded at all.
func TestEnderRecordsReservedSpans(t *testing.T) {
	var got []finishedSpan
	ender := telemetry.NewEnder(time.Hour)
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, sampled := range []bool{true, false} {
		r := telemetry.Reserve(fakeReserver{sampled: sampled, finished: &got}, context.Background(), "work x", trace.SpanKindServer)
		r.Start = start
		step := telemetry.StepEnd{ModelKey: telemetry.AttrModel, SubtaskID: "t1", Model: "m", Attempt: 2}
		ender.Record(r, &step, &task.Error{Code: task.CodeTimeout, Message: "too slow"}, start.Add(time.Second))
	}
	if len(got) != 0 {
		t.Fatalf("%d spans recorded before the batch ended", len(got))
	}
	ender.Close()
	if len(got) != 1 || got[0].name != "work x" || !got[0].start.Equal(start) || !got[0].end.Equal(start.Add(time.Second)) ||
		got[0].code != codes.Error || got[0].desc != "too slow" {
		t.Fatalf("recorded %+v", got)
	}
	want := []attribute.KeyValue{telemetry.AttrSubtaskID.String("t1"), telemetry.AttrModel.String("m"), telemetry.AttrAttempt.Int(2),
		telemetry.AttrErrorCode.String(string(task.CodeTimeout)), telemetry.AttrErrorType.String(string(task.CodeTimeout))}
	if !slices.Equal(got[0].attrs, want) {
		t.Fatalf("attributes %v, want %v", got[0].attrs, want)
	}
}

// A step's attributes leave out what it does not have, and carry what it
// does, under the model key it names.
func TestStepEndAttributes(t *testing.T) {
	var got []finishedSpan
	ender := telemetry.NewEnder(time.Hour)
	r := telemetry.Reserve(fakeReserver{sampled: true, finished: &got}, context.Background(), "subtask x", trace.SpanKindClient)
	step := telemetry.StepEnd{ModelKey: telemetry.AttrGenAIRequestModel, RequestID: "req_1", SubtaskID: "t2", Capability: "translate",
		Model: "local/x", Executor: "e1", Attempt: 1, InputTokens: 7, OutputTokens: 3}
	ender.Record(r, &step, nil, time.Now())
	ender.Close()
	want := []attribute.KeyValue{telemetry.AttrRequestID.String("req_1"), telemetry.AttrSubtaskID.String("t2"),
		telemetry.AttrCapability.String("translate"), telemetry.AttrGenAIRequestModel.String("local/x"), telemetry.AttrAttempt.Int(1),
		telemetry.AttrExecutor.String("e1"), telemetry.AttrGenAIInputTokens.Int(7), telemetry.AttrGenAIOutputTokens.Int(3)}
	if len(got) != 1 || !slices.Equal(got[0].attrs, want) || got[0].code != codes.Unset {
		t.Fatalf("recorded %+v, want attributes %v", got, want)
	}
}
