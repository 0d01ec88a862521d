package tracing

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/taskrouter/taskrouter/telemetry"
	"github.com/taskrouter/taskrouter/telemetry/otlptest"
)

// dispatchSpans is a full batch of the spans a dispatch makes: attempt
// spans at the router and work spans at the executor, 4 to 7 attributes
// each, under the resource Start describes a process with.
func dispatchSpans(b *testing.B) []sdktrace.ReadOnlySpan {
	res, err := resource.New(context.Background(), resource.WithAttributes(attribute.String("service.name", "taskrouter"),
		attribute.String("service.version", "1.4.0")), resource.WithHost(), resource.WithProcessPID(), resource.WithTelemetrySDK())
	if err != nil {
		b.Fatal(err)
	}
	scope := instrumentation.Scope{Name: telemetry.InstrumentationName}
	t0 := time.Now()
	spans := make([]sdktrace.ReadOnlySpan, 512)
	for i := range spans {
		request := fmt.Sprintf("req-%08d", i/2)
		stub := tracetest.SpanStub{SpanContext: sc(byte(i/2), byte(i), trace.FlagsSampled, "", false), Parent: sc(byte(i/2), byte(i-1), trace.FlagsSampled, "", i%2 == 1),
			StartTime: t0, EndTime: t0.Add(time.Duration(i) * time.Microsecond), Resource: res, InstrumentationScope: scope}
		if i%2 == 0 {
			stub.Name, stub.SpanKind = "subtask summarize", trace.SpanKindClient
			stub.Attributes = []attribute.KeyValue{telemetry.AttrSubtaskID.String("t1"), telemetry.AttrCapability.String("summarize"),
				telemetry.AttrModel.String("local/answer"), telemetry.AttrAttempt.Int(1), telemetry.AttrExecutor.String("exec-1"),
				telemetry.AttrGenAIInputTokens.Int(7), telemetry.AttrGenAIOutputTokens.Int(3)}
		} else {
			stub.Name, stub.SpanKind = "work summarize", trace.SpanKindServer
			stub.Attributes = []attribute.KeyValue{telemetry.AttrRequestID.String(request), telemetry.AttrSubtaskID.String("t1"),
				telemetry.AttrGenAIRequestModel.String("local/answer"), telemetry.AttrAttempt.Int(1)}
			if i%10 == 1 {
				stub.Status = sdktrace.Status{Code: codes.Error, Description: "the model broke"}
			}
		}
		spans[i] = stub.Snapshot()
	}
	return spans
}

// BenchmarkExport exports a batch of 512 dispatch spans to a receiver in
// this process that discards them, with this package's exporter and with
// OpenTelemetry's otlptracehttp. The receiver's work is the same in both.
func BenchmarkExport(b *testing.B) {
	ctx := context.Background()
	rcv, err := otlptest.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer rcv.Close()
	rcv.Discard = true
	spans := dispatchSpans(b)
	official, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(rcv.URL))
	if err != nil {
		b.Fatal(err)
	}
	ours, err := NewExporter(Config{Endpoint: rcv.URL})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		exp  sdktrace.SpanExporter
	}{{"ours", ours}, {"official", official}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := c.exp.ExportSpans(ctx, spans); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(spans)), "ns/span")
		})
		if err := c.exp.Shutdown(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// marshaller is an otlptrace.Client that marshals what the official
// exporter uploads, as otlptracehttp does, and sends it nowhere.
type marshaller struct{ capture }

func (m *marshaller) UploadTraces(_ context.Context, rs []*tracepb.ResourceSpans) error {
	_, err := proto.Marshal(&coltracepb.ExportTraceServiceRequest{ResourceSpans: rs})
	return err
}

// BenchmarkEncode is BenchmarkExport without HTTP: this package's encoder
// against the official transform and proto.Marshal.
func BenchmarkEncode(b *testing.B) {
	spans := dispatchSpans(b)
	official, err := otlptrace.New(context.Background(), &marshaller{})
	if err != nil {
		b.Fatal(err)
	}
	var e encoder
	for name, encode := range map[string]func(){
		"ours":     func() { e.encode(spans) },
		"official": func() { _ = official.ExportSpans(context.Background(), spans) },
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				encode()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(spans)), "ns/span")
		})
	}
}
