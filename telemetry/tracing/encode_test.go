package tracing

import (
	"context"
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
)

// capture is an otlptrace.Client that keeps what the official exporter
// would upload: its transform of the spans, before marshalling.
type capture struct{ got []*tracepb.ResourceSpans }

func (*capture) Start(context.Context) error { return nil }
func (*capture) Stop(context.Context) error  { return nil }
func (c *capture) UploadTraces(_ context.Context, rs []*tracepb.ResourceSpans) error {
	c.got = rs
	return nil
}

// official returns a function encoding spans the official way.
func official(t testing.TB) func([]sdktrace.ReadOnlySpan) []*tracepb.ResourceSpans {
	c := &capture{}
	exp, err := otlptrace.New(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return func(spans []sdktrace.ReadOnlySpan) []*tracepb.ResourceSpans {
		c.got = nil
		if err := exp.ExportSpans(context.Background(), spans); err != nil {
			t.Fatal(err)
		}
		return c.got
	}
}

// checkEquivalent encodes spans with the encoder, decodes the result with
// the official protobuf types and compares it with the official
// transform. The official ResourceSpans come in a map's order, so each of
// ours is matched with an equal one. Link trace states, which only ours
// send, are checked against the spans' and then cleared.
func checkEquivalent(t testing.TB, e *encoder, want func([]sdktrace.ReadOnlySpan) []*tracepb.ResourceSpans, spans []sdktrace.ReadOnlySpan) {
	t.Helper()
	var got coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(e.encode(spans), &got); err != nil {
		t.Fatalf("our request does not decode: %v", err)
	}
	var gotStates, wantStates []string
	for _, rs := range got.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				for _, l := range s.Links {
					gotStates = append(gotStates, l.TraceState)
					l.TraceState = ""
				}
			}
		}
	}
	for _, sd := range spans {
		if sd != nil {
			for _, l := range sd.Links() {
				wantStates = append(wantStates, l.SpanContext.TraceState().String())
			}
		}
	}
	slices.Sort(gotStates)
	slices.Sort(wantStates)
	if !slices.Equal(gotStates, wantStates) {
		t.Errorf("link trace states %q, want %q", gotStates, wantStates)
	}
	rest := want(spans)
	if len(got.ResourceSpans) != len(rest) {
		t.Fatalf("%d ResourceSpans, the official transform makes %d:\n%s", len(got.ResourceSpans), len(rest), prototext.Format(&got))
	}
	for _, rs := range got.ResourceSpans {
		i := slices.IndexFunc(rest, func(w *tracepb.ResourceSpans) bool { return proto.Equal(w, rs) })
		if i < 0 {
			t.Fatalf("ours:\n%s\nthe official transform's:\n%s", prototext.Format(rs),
				prototext.Format(&coltracepb.ExportTraceServiceRequest{ResourceSpans: rest}))
		}
		rest = slices.Delete(rest, i, i+1)
	}
}

func sc(tid, sid byte, flags trace.TraceFlags, state string, remote bool) trace.SpanContext {
	ts, err := trace.ParseTraceState(state)
	if err != nil {
		panic(err)
	}
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{tid, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
		SpanID: trace.SpanID{sid, 1, 2, 3, 4, 5, 6, 7}, TraceFlags: flags, TraceState: ts, Remote: remote})
}

// everyAttribute has one attribute of each type, nested ones included,
// and the values the wire format treats specially: zeros, NaN, bad UTF-8
// aside (see TestBadUTF8BecomesReplacement).
var everyAttribute = []attribute.KeyValue{
	attribute.Bool("bool", true), attribute.Bool("false", false),
	attribute.Int64("int", -42), attribute.Int("zero", 0), attribute.Int64("big", math.MaxInt64),
	attribute.Float64("float", 1.5), attribute.Float64("nan", math.NaN()), attribute.Float64("negzero", math.Copysign(0, -1)),
	attribute.String("string", "gpt-4o"), attribute.String("empty", ""), attribute.String("long", strings.Repeat("x", 300)),
	attribute.BoolSlice("bools", []bool{true, false}), attribute.Int64Slice("ints", []int64{1, -1, 0}),
	attribute.Float64Slice("floats", []float64{0.25, -3}), attribute.StringSlice("strings", []string{"a", "", "ü"}),
	attribute.StringSlice("no strings", nil), attribute.ByteSlice("bytes", []byte{0, 1, 255}), attribute.ByteSlice("no bytes", nil),
	attribute.Slice("slice", attribute.BoolValue(false), attribute.SliceValue(attribute.IntValue(2), attribute.Value{}),
		attribute.MapValue(attribute.String("k", "v"))),
	attribute.Map("map", attribute.String("s", "v"), attribute.Map("nested", attribute.Bool("ok", true)), attribute.KeyValue{Key: "empty"}),
	attribute.Map("empty map"),
	{Key: "unset"},
	{Key: "", Value: attribute.StringValue("no key")},
}

// variedSpans covers every field the official transform sets, across two
// resources (one given as nil and as empty in turn) and several scopes.
func variedSpans() []sdktrace.ReadOnlySpan {
	r1 := resource.NewWithAttributes("https://opentelemetry.io/schemas/1.26.0",
		attribute.String("service.name", "taskrouter"), attribute.Int("process.pid", 7), attribute.StringSlice("host.ip", []string{"10.0.0.1"}))
	r2 := resource.NewSchemaless(append([]attribute.KeyValue{attribute.String("service.name", "taskrouter-executor")}, everyAttribute...)...)
	scope := instrumentation.Scope{Name: "github.com/taskrouter/taskrouter", Version: "v1.2.3",
		SchemaURL: "https://opentelemetry.io/schemas/1.26.0", Attributes: attribute.NewSet(attribute.String("scope.k", "v"), attribute.Int("n", 1))}
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 123456789, time.UTC)
	stubs := tracetest.SpanStubs{
		{Name: "subtask summarize", SpanContext: sc(1, 1, trace.FlagsSampled, "vendor=a,other=b", false), Parent: sc(1, 9, 0, "", true),
			SpanKind: trace.SpanKindClient, StartTime: t0, EndTime: t0.Add(3 * time.Millisecond), Attributes: everyAttribute,
			Events: []sdktrace.Event{{Name: "retry", Time: t0.Add(time.Millisecond), Attributes: everyAttribute[:4], DroppedAttributeCount: 2},
				{Name: "", Time: time.Unix(-5, 0)}, {}},
			Links: []sdktrace.Link{{SpanContext: sc(2, 2, trace.FlagsSampled, "k=v", true), Attributes: everyAttribute[8:12], DroppedAttributeCount: 1},
				{SpanContext: sc(3, 3, 0, "", false)}, {}},
			Status: sdktrace.Status{Code: codes.Error, Description: "the model broke"}, DroppedAttributes: 3, DroppedEvents: 4, DroppedLinks: 5,
			Resource: r1, InstrumentationScope: scope},
		{Name: "work summarize", SpanContext: sc(1, 2, trace.FlagsSampled|0x04, "", false), Parent: sc(1, 1, trace.FlagsSampled, "", false),
			SpanKind: trace.SpanKindServer, StartTime: t0, EndTime: t0, Status: sdktrace.Status{Code: codes.Ok},
			Resource: r2, InstrumentationScope: scope},
		{Name: "root", SpanContext: sc(4, 4, 0, "", false), SpanKind: trace.SpanKindInternal, Resource: r1,
			InstrumentationScope: instrumentation.Scope{Name: "other"}, Status: sdktrace.Status{Code: codes.Unset, Description: "kept as given"}},
		{Name: "producer", SpanKind: trace.SpanKindProducer, Resource: r1, InstrumentationScope: scope, DroppedAttributes: -1,
			DroppedEvents: math.MaxUint32 + 10},
		{Name: "consumer", SpanKind: trace.SpanKindConsumer, Resource: r2},
		{Name: "odd kind", SpanKind: trace.SpanKind(9), Resource: r2, InstrumentationScope: instrumentation.Scope{SchemaURL: "only a schema"}},
		{Name: "no resource", StartTime: time.Unix(0, -1)},
		{Name: "empty resource", Resource: resource.Empty(), InstrumentationScope: instrumentation.Scope{Attributes: attribute.NewSet()}},
		{Name: "back to the first scope", SpanContext: sc(5, 5, trace.FlagsSampled, "", false), Resource: r1, InstrumentationScope: scope},
	}
	spans := stubs.Snapshots()
	return append(spans[:3], append([]sdktrace.ReadOnlySpan{nil}, spans[3:]...)...)
}

// recordedSpans are what a real tracer provider hands its exporter.
func recordedSpans(t testing.TB) []sdktrace.ReadOnlySpan {
	mem := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(mem), sdktrace.WithResource(resource.Default()))
	ctx, parent := tp.Tracer("router").Start(context.Background(), "request", trace.WithSpanKind(trace.SpanKindServer))
	_, child := tp.Tracer("executor", trace.WithInstrumentationVersion("v2")).Start(ctx, "work",
		trace.WithAttributes(attribute.String("gen_ai.request.model", "local/answer"), attribute.Int("gen_ai.usage.input_tokens", 7)),
		trace.WithLinks(trace.Link{SpanContext: sc(9, 9, trace.FlagsSampled, "a=b", true)}))
	child.AddEvent("accepted", trace.WithAttributes(attribute.Bool("queued", false)))
	child.SetStatus(codes.Error, "boom")
	child.End()
	parent.End()
	// Shutdown would empty the in-memory exporter.
	spans := mem.GetSpans().Snapshots()
	if len(spans) != 2 {
		t.Fatalf("recorded %d spans", len(spans))
	}
	return spans
}

func TestEncodeMatchesTheOfficialTransform(t *testing.T) {
	want := official(t)
	var e encoder
	for name, spans := range map[string][]sdktrace.ReadOnlySpan{
		"varied":           variedSpans(),
		"recorded":         recordedSpans(t),
		"one":              variedSpans()[:1],
		"empty":            nil,
		"only a nil":       {nil},
		"the varied again": variedSpans(), // the encoder reused
	} {
		t.Run(name, func(t *testing.T) { checkEquivalent(t, &e, want, spans) })
	}
}

func TestEncodeGroupsByResourceThenScope(t *testing.T) {
	var e encoder
	var got coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(e.encode(variedSpans()), &got); err != nil {
		t.Fatal(err)
	}
	var shape []string
	for _, rs := range got.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			names := []string{ss.GetScope().GetName()}
			for _, s := range ss.Spans {
				names = append(names, s.Name)
			}
			shape = append(shape, strings.Join(names, ","))
		}
		shape = append(shape, "|")
	}
	want := "github.com/taskrouter/taskrouter,subtask summarize,producer,back to the first scope other,root | " +
		"github.com/taskrouter/taskrouter,work summarize ,consumer ,odd kind | ,no resource,empty resource |"
	if strings.Join(shape, " ") != want {
		t.Errorf("grouped as\n%s\nwant\n%s", strings.Join(shape, " "), want)
	}
}

func TestBadUTF8BecomesReplacement(t *testing.T) {
	var e encoder
	spans := tracetest.SpanStubs{{Name: "bad \xff name", Attributes: []attribute.KeyValue{attribute.String("k\xfe", "v\xc3")}}}.Snapshots()
	var got coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(e.encode(spans), &got); err != nil {
		t.Fatal(err)
	}
	s := got.ResourceSpans[0].ScopeSpans[0].Spans[0]
	if kv := s.Attributes[0]; s.Name != "bad \uFFFD name" || kv.Key != "k\uFFFD" || kv.Value.GetStringValue() != "v\uFFFD" {
		t.Errorf("name %q, attribute %q=%q", s.Name, kv.Key, kv.Value.GetStringValue())
	}
}

// A message longer than the byte begin reserves for its length is moved
// up; lengths of every varint size must come out right.
func TestEncodeLongMessages(t *testing.T) {
	want := official(t)
	var e encoder
	for _, n := range []int{0, 100, 127, 128, 200, 16383, 16384, 70000, 2 << 20} {
		spans := tracetest.SpanStubs{{Name: strings.Repeat("n", n), Attributes: []attribute.KeyValue{attribute.String("v", strings.Repeat("v", n))}}}
		checkEquivalent(t, &e, want, spans.Snapshots())
	}
}

// FuzzEncodeMatchesTheOfficialTransform derives batches of spans from the
// fuzzer's bytes and checks the encoder against the official transform.
func FuzzEncodeMatchesTheOfficialTransform(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x03\x01\x02\x05hello\x07\x09\x01\x02\x03"))
	f.Add([]byte(strings.Repeat("\x11\x42\x07\xff\x80\x01", 40)))
	want := official(f)
	var e encoder
	f.Fuzz(func(t *testing.T, data []byte) {
		checkEquivalent(t, &e, want, fuzzSpans(&source{b: data}))
	})
}

// source hands out the fuzzer's bytes, zeros when they run out.
type source struct{ b []byte }

func (s *source) byte() byte {
	if len(s.b) == 0 {
		return 0
	}
	c := s.b[0]
	s.b = s.b[1:]
	return c
}

func (s *source) n(limit int) int { return int(s.byte()) % limit }

func (s *source) u64() uint64 {
	var b [8]byte
	for i := range b {
		b[i] = s.byte()
	}
	return binary.LittleEndian.Uint64(b[:])
}

// str is valid UTF-8: the official structs would keep bad bytes that ours
// replace (TestBadUTF8BecomesReplacement covers those).
func (s *source) str() string {
	n := min(s.n(40), len(s.b))
	str := string(s.b[:n])
	s.b = s.b[n:]
	return strings.ToValidUTF8(str, "\uFFFD")
}

func (s *source) value(depth int) attribute.Value {
	switch s.n(13) {
	case 1:
		return attribute.BoolValue(s.byte()&1 == 1)
	case 2:
		return attribute.Int64Value(int64(s.u64()))
	case 3:
		return attribute.Float64Value(math.Float64frombits(s.u64()))
	case 4:
		return attribute.StringValue(s.str())
	case 5:
		return attribute.BoolSliceValue([]bool{s.byte()&1 == 1, s.byte()&2 == 2}[:s.n(3)])
	case 6:
		return attribute.Int64SliceValue([]int64{int64(s.u64()), int64(s.byte())}[:s.n(3)])
	case 7:
		return attribute.Float64SliceValue([]float64{math.Float64frombits(s.u64())}[:s.n(2)])
	case 8:
		return attribute.StringSliceValue([]string{s.str(), s.str()}[:s.n(3)])
	case 9:
		return attribute.ByteSliceValue([]byte(s.str()))
	case 10, 11:
		if depth > 2 {
			return attribute.Value{}
		}
		vals := make([]attribute.Value, s.n(4))
		for i := range vals {
			vals[i] = s.value(depth + 1)
		}
		if s.byte()&1 == 0 {
			return attribute.SliceValue(vals...)
		}
		kvs := make([]attribute.KeyValue, len(vals))
		for i, v := range vals {
			kvs[i] = attribute.KeyValue{Key: attribute.Key(s.str()), Value: v}
		}
		return attribute.MapValue(kvs...)
	}
	return attribute.Value{}
}

func (s *source) attributes() []attribute.KeyValue {
	kvs := make([]attribute.KeyValue, s.n(5))
	for i := range kvs {
		kvs[i] = attribute.KeyValue{Key: attribute.Key(s.str()), Value: s.value(0)}
	}
	return kvs
}

func (s *source) spanContext() trace.SpanContext {
	var tid trace.TraceID
	var sid trace.SpanID
	binary.LittleEndian.PutUint64(tid[:], s.u64())
	binary.LittleEndian.PutUint64(sid[:], s.u64())
	var state trace.TraceState
	if s.byte()&1 == 1 {
		state, _ = state.Insert("k"+strings.Map(func(r rune) rune { return 'a' + r%26 }, s.str()), "v")
	}
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.TraceFlags(s.byte()),
		TraceState: state, Remote: s.byte()&1 == 1})
}

func (s *source) time() time.Time { return time.Unix(0, int64(s.u64())) }

func (s *source) count() int {
	switch s.n(4) {
	case 1:
		return -int(s.byte())
	case 2:
		return math.MaxUint32 + int(s.byte())
	case 3:
		return int(s.byte())
	}
	return 0
}

func fuzzSpans(s *source) []sdktrace.ReadOnlySpan {
	resources := []*resource.Resource{nil, resource.Empty(), resource.NewWithAttributes(s.str(), s.attributes()...),
		resource.NewWithAttributes(s.str(), s.attributes()...)}
	scopes := []instrumentation.Scope{{}, {Name: s.str(), Version: s.str(), SchemaURL: s.str()},
		{Name: s.str(), Attributes: attribute.NewSet(s.attributes()...)}}
	spans := make([]sdktrace.ReadOnlySpan, s.n(9))
	for i := range spans {
		if s.byte() == 0xff {
			continue // a nil span
		}
		stub := tracetest.SpanStub{Name: s.str(), SpanContext: s.spanContext(), SpanKind: trace.SpanKind(s.n(8)),
			StartTime: s.time(), EndTime: s.time(), Attributes: s.attributes(),
			Status:            sdktrace.Status{Code: codes.Code(s.n(4)), Description: s.str()},
			DroppedAttributes: s.count(), DroppedEvents: s.count(), DroppedLinks: s.count(),
			Resource: resources[s.n(len(resources))], InstrumentationScope: scopes[s.n(len(scopes))]}
		if s.byte()&1 == 1 {
			stub.Parent = s.spanContext()
		}
		for range s.n(3) {
			stub.Events = append(stub.Events, sdktrace.Event{Name: s.str(), Time: s.time(), Attributes: s.attributes(), DroppedAttributeCount: s.count()})
		}
		for range s.n(3) {
			stub.Links = append(stub.Links, sdktrace.Link{SpanContext: s.spanContext(), Attributes: s.attributes(), DroppedAttributeCount: s.count()})
		}
		spans[i] = stub.Snapshot()
	}
	return spans
}
