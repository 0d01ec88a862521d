package tracing

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/taskrouter/taskrouter/telemetry"
	"github.com/taskrouter/taskrouter/telemetry/otlptest"
)

// presetIDs gives the SDK the ids a test chose for the span it starts,
// so that it can be compared with a reserved one.
type presetIDs struct{}

type presetKey struct{}

func (presetIDs) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	sc := ctx.Value(presetKey{}).(trace.SpanContext)
	return sc.TraceID(), sc.SpanID()
}

func (presetIDs) NewSpanID(ctx context.Context, _ trace.TraceID) trace.SpanID {
	return ctx.Value(presetKey{}).(trace.SpanContext).SpanID()
}

// twins are a reserving Tracer and a plain SDK tracer of the same
// provider settings, each recording into its own recorder.
type twins struct {
	reserving    *Tracer
	sdk          trace.Tracer
	mine, theirs *tracetest.SpanRecorder
}

func newTwins(t *testing.T, sampler sdktrace.Sampler) twins {
	t.Helper()
	res := resource.NewSchemaless(attribute.String("service.name", "twins"))
	mine, theirs := tracetest.NewSpanRecorder(), tracetest.NewSpanRecorder()
	sdk := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithIDGenerator(presetIDs{}),
		sdktrace.WithSpanProcessor(theirs), sdktrace.WithResource(res)).Tracer(telemetry.InstrumentationName)
	return twins{
		reserving: &Tracer{Tracer: sdk, sampler: sampler, batcher: mine, scope: instrumentation.Scope{Name: telemetry.InstrumentationName},
			res: res, limits: spanLimitsFromEnv()},
		sdk: sdk, mine: mine, theirs: theirs,
	}
}

// record reserves a span under parent and finishes it, and has the SDK
// record the same span from start to end; it returns what each recorded.
func (tw twins) record(t *testing.T, parent context.Context, kind trace.SpanKind, attrs []attribute.KeyValue, code codes.Code, desc string) (mine, theirs sdktrace.ReadOnlySpan) {
	t.Helper()
	r := telemetry.Reserve(tw.reserving, parent, "work summarize", kind)
	end := r.Start.Add(1500 * time.Millisecond)
	given := slices.Clone(attrs)
	tw.reserving.Finish(r, &given, code, desc, end)
	_, span := tw.sdk.Start(context.WithValue(parent, presetKey{}, r.SC), "work summarize", trace.WithSpanKind(kind), trace.WithTimestamp(r.Start))
	if span.SpanContext().IsSampled() != r.SC.IsSampled() {
		t.Fatalf("reserved %v, the SDK started %v", r.SC, span.SpanContext())
	}
	if code != codes.Unset {
		span.SetStatus(code, desc)
	}
	span.SetAttributes(attrs...)
	span.End(trace.WithTimestamp(end))
	if !r.SC.IsSampled() {
		return nil, nil
	}
	m, th := tw.mine.Ended(), tw.theirs.Ended()
	if len(m) == 0 || len(th) == 0 {
		t.Fatalf("recorded %d, the SDK %d", len(m), len(th))
	}
	return m[len(m)-1], th[len(th)-1]
}

// sameOnTheWire checks that two spans read the same as the exporter
// writes them, and in what the exporter does not write.
func sameOnTheWire(t *testing.T, mine, theirs sdktrace.ReadOnlySpan) {
	t.Helper()
	var a, b encoder
	if got, want := a.encode([]sdktrace.ReadOnlySpan{mine}), b.encode([]sdktrace.ReadOnlySpan{theirs}); !bytes.Equal(got, want) {
		t.Fatalf("a finished span encodes as\n%x\nthe SDK's as\n%x\n(attributes %v, theirs %v)", got, want, mine.Attributes(), theirs.Attributes())
	}
	if !mine.Parent().Equal(theirs.Parent()) || mine.ChildSpanCount() != theirs.ChildSpanCount() {
		t.Fatalf("parent %v children %d, the SDK's %v %d", mine.Parent(), mine.ChildSpanCount(), theirs.Parent(), theirs.ChildSpanCount())
	}
}

// A reserved span is recorded as the SDK records the same span, under a
// remote parent, a local one and as a root, with and without an error.
func TestFinishedSpansReadAsTheSDKs(t *testing.T) {
	tw := newTwins(t, sdktrace.ParentBased(sdktrace.AlwaysSample()))
	remote := trace.NewSpanContext(trace.SpanContextConfig{TraceID: newTraceID(), SpanID: newSpanID(), TraceFlags: trace.FlagsSampled, Remote: true,
		TraceState: mustTraceState(t, "vendor=x")})
	local := trace.NewSpanContext(trace.SpanContextConfig{TraceID: newTraceID(), SpanID: newSpanID(), TraceFlags: trace.FlagsSampled})
	attrs := []attribute.KeyValue{telemetry.AttrRequestID.String("req-1"), telemetry.AttrAttempt.Int(2), telemetry.AttrModel.String("local/summarize")}
	for _, parent := range []context.Context{trace.ContextWithRemoteSpanContext(context.Background(), remote),
		trace.ContextWithSpanContext(context.Background(), local), context.Background()} {
		for _, kind := range []trace.SpanKind{trace.SpanKindServer, trace.SpanKindClient} {
			mine, theirs := tw.record(t, parent, kind, attrs, codes.Unset, "")
			sameOnTheWire(t, mine, theirs)
			mine, theirs = tw.record(t, parent, kind, append(attrs, telemetry.AttrErrorCode.String("timeout")), codes.Error, "the model timed out")
			sameOnTheWire(t, mine, theirs)
		}
	}
}

// The span limits the environment sets hold for reserved spans as for
// the SDK's: attributes past the count are dropped and counted, long
// strings are cut by characters, invalid attributes are dropped.
func TestFinishedSpansKeepTheSpanLimits(t *testing.T) {
	t.Setenv("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "3")
	t.Setenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "4")
	tw := newTwins(t, sdktrace.AlwaysSample())
	attrs := []attribute.KeyValue{attribute.String("a", "héllo wörld"), {}, attribute.Int("b", 123456), attribute.String("c", "ok"),
		attribute.String("d", "dropped")}
	mine, theirs := tw.record(t, context.Background(), trace.SpanKindServer, attrs, codes.Unset, "")
	sameOnTheWire(t, mine, theirs)
	if mine.DroppedAttributes() != theirs.DroppedAttributes() || mine.DroppedAttributes() != 2 || mine.Attributes()[0].Value.AsString() != "héll" {
		t.Fatalf("kept %v, dropped %d; the SDK kept %v, dropped %d", mine.Attributes(), mine.DroppedAttributes(), theirs.Attributes(), theirs.DroppedAttributes())
	}
}

// The sampler decides a reserved span as the SDK decides the same span:
// a ratio sampler keeps the same ones, a parent that was not sampled is
// not sampled under it, and a span not kept is not recorded.
func TestReservedSamplingMatchesTheSDKs(t *testing.T) {
	tw := newTwins(t, sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.5)))
	for range 400 {
		if mine, theirs := tw.record(t, context.Background(), trace.SpanKindClient, nil, codes.Unset, ""); mine != nil {
			sameOnTheWire(t, mine, theirs)
		}
	}
	if kept := len(tw.mine.Ended()); kept < 100 || kept > 300 || kept != len(tw.theirs.Ended()) {
		t.Fatalf("a ratio of 0.5 kept %d of 400, the SDK %d", kept, len(tw.theirs.Ended()))
	}
	unsampled := trace.NewSpanContext(trace.SpanContextConfig{TraceID: newTraceID(), SpanID: newSpanID(), Remote: true})
	if sc := tw.reserving.Reserve(trace.ContextWithRemoteSpanContext(context.Background(), unsampled), "work x", trace.SpanKindServer); sc.IsSampled() {
		t.Fatalf("sampled under an unsampled parent: %v", sc)
	}
}

// A finished span answers every method of sdktrace.ReadOnlySpan itself:
// one left to the embedded nil interface would panic in an exporter.
func TestFinishedSpansAnswerEveryMethod(t *testing.T) {
	var s sdktrace.ReadOnlySpan = &finished{tracer: &Tracer{}}
	v := reflect.ValueOf(s)
	it := reflect.TypeFor[sdktrace.ReadOnlySpan]()
	for i := range it.NumMethod() {
		m := it.Method(i)
		if !m.IsExported() {
			continue
		}
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("%s panics: %v", m.Name, p)
				}
			}()
			v.MethodByName(m.Name).Call(nil)
		}()
	}
}

func mustTraceState(t *testing.T, s string) trace.TraceState {
	t.Helper()
	ts, err := trace.ParseTraceState(s)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// The exporter gives finished spans back once it has encoded them, and
// the next ones reuse them without carrying anything of the last: every
// span reaches the receiver with its own attributes.
func TestFinishedSpansAreReusedAfterTheirExport(t *testing.T) {
	ctx := context.Background()
	rcv, err := otlptest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.Close()
	p, err := Start(ctx, Config{Enabled: true, Endpoint: rcv.URL, ServiceName: "reuse", Sampler: sdktrace.AlwaysSample()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(ctx)
	tr := p.Tracer().(*Tracer)
	finish := func(round int) {
		for i := range 3 {
			r := telemetry.Reserve(tr, context.Background(), "work x", trace.SpanKindServer)
			attrs := []attribute.KeyValue{attribute.Int("round", round), attribute.Int("i", i)}
			if i == 0 {
				attrs = append(attrs, attribute.String("only.first", "x"))
			}
			tr.Finish(r, &attrs, codes.Unset, "", r.Start.Add(time.Millisecond))
			// What the caller is left with is its own.
			attrs = append(attrs, attribute.String("later", "x"))
		}
		if err := tr.batcher.ForceFlush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	finish(1)
	if n := len(tr.spare.spans); n != 3 {
		t.Fatalf("%d spans spare after an export of 3", n)
	}
	for _, s := range tr.spare.spans {
		if len(s.attrs) != 0 || s.name != "" || s.tracer != nil {
			t.Fatalf("a spare span keeps %q %v", s.name, s.attrs)
		}
	}
	finish(2)
	got := map[string]int{}
	for _, s := range rcv.Spans() {
		got[s.Attributes["round"]+"/"+s.Attributes["i"]+"/"+s.Attributes["only.first"]]++
	}
	want := map[string]int{"1/0/x": 1, "1/1/": 1, "1/2/": 1, "2/0/x": 1, "2/1/": 1, "2/2/": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("received %v, want %v", got, want)
	}
}
