package tracing_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/telemetry/otlptest"
	"github.com/taskrouter/taskrouter/telemetry/tracing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnv(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		enabled bool
		url     string
		service string
		err     string
	}{
		{name: "nothing set is off", env: map[string]string{}},
		{name: "base endpoint gets the traces path", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/"},
			enabled: true, url: "http://c:4318/v1/traces", service: "taskrouter"},
		{name: "the signal's endpoint is used as is", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
			"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://t.example/otlp"}, enabled: true, url: "https://t.example/otlp", service: "taskrouter"},
		{name: "otlp exporter alone uses the default", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp"},
			enabled: true, url: tracing.DefaultEndpoint, service: "taskrouter"},
		{name: "none turns it off", env: map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}},
		{name: "the SDK disabled", env: map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}},
		{name: "service name", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SERVICE_NAME": "edge-router",
			"OTEL_RESOURCE_ATTRIBUTES": "service.name=ignored,deployment.environment=prod"}, enabled: true, url: "http://c:4318/v1/traces", service: "edge-router"},
		{name: "grpc is refused", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
			err: "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{name: "zipkin is refused", env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, err: "OTEL_TRACES_EXPORTER"},
		{name: "bad endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, err: "http(s) URL"},
		{name: "bad sampler", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_SAMPLER": "sometimes"},
			err: "OTEL_TRACES_SAMPLER"},
		{name: "bad ratio", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_SAMPLER": "traceidratio",
			"OTEL_TRACES_SAMPLER_ARG": "2"}, err: "OTEL_TRACES_SAMPLER_ARG"},
		{name: "bad timeout", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_TIMEOUT": "10s"},
			err: "OTEL_EXPORTER_OTLP_TIMEOUT=\"10s\": want a whole number of milliseconds"},
		{name: "zero timeout", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "0"},
			err: "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"},
		{name: "bad compression", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"},
			err: "OTEL_EXPORTER_OTLP_COMPRESSION=\"zstd\": taskrouter compresses exports with gzip"},
		{name: "bad header", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_HEADERS": "secret-no-equals"},
			err: "OTEL_EXPORTER_OTLP_HEADERS: item 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := tracing.FromEnv(env(c.env), "taskrouter")
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one naming %q", err, c.err)
				}
				if strings.Contains(err.Error(), "secret-no-equals") {
					t.Errorf("the error repeats a header's text: %v", err)
				}
				return
			}
			if err != nil || got.Enabled != c.enabled || got.Endpoint != c.url || c.enabled && got.ServiceName != c.service {
				t.Fatalf("FromEnv = %+v, %v; want enabled %v url %q service %q", got, err, c.enabled, c.url, c.service)
			}
		})
	}
}

func TestHeadersAreDecoded(t *testing.T) {
	got, err := tracing.FromEnv(env(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
		"OTEL_EXPORTER_OTLP_HEADERS": "api-key=a%20b,x=1", "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "x=2"}), "s")
	if err != nil || got.Headers["api-key"] != "a b" || got.Headers["x"] != "2" {
		t.Fatalf("headers %v, %v", got.Headers, err)
	}
}

func TestExportVariables(t *testing.T) {
	for _, c := range []struct {
		env     map[string]string
		timeout time.Duration
		gzip    bool
		ca      string
	}{
		{env: map[string]string{}},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "2500", "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
			"OTEL_EXPORTER_OTLP_CERTIFICATE": "/etc/ca.pem"}, timeout: 2500 * time.Millisecond, gzip: true, ca: "/etc/ca.pem"},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "2500", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "100",
			"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "none",
			"OTEL_EXPORTER_OTLP_CERTIFICATE": "/etc/ca.pem", "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE": "/etc/traces-ca.pem"},
			timeout: 100 * time.Millisecond, ca: "/etc/traces-ca.pem"},
	} {
		c.env["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://c:4318"
		got, err := tracing.FromEnv(env(c.env), "s")
		if err != nil || got.Timeout != c.timeout || got.Gzip != c.gzip || got.Certificate != c.ca {
			t.Errorf("%v: timeout %v gzip %v CA %q, %v", c.env, got.Timeout, got.Gzip, got.Certificate, err)
		}
	}
}

// Spans reach an OTLP/HTTP receiver with the service name and their
// parent, and the sampler from the environment applies.
func TestSpansReachTheReceiver(t *testing.T) {
	rcv, err := otlptest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.Close()
	cfg, err := tracing.FromEnv(env(map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": rcv.URL}), "taskrouter-test")
	if err != nil {
		t.Fatal(err)
	}
	p, err := tracing.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, parent := p.Tracer().Start(context.Background(), "parent")
	_, child := p.Tracer().Start(ctx, "child")
	child.End()
	parent.End()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	spans := rcv.Spans()
	if len(spans) != 2 {
		t.Fatalf("received %d spans: %+v", len(spans), spans)
	}
	byName := map[string]otlptest.Span{}
	for _, s := range spans {
		byName[s.Name] = s
	}
	if c, p := byName["child"], byName["parent"]; c.ParentSpanID != p.SpanID || c.TraceID != p.TraceID || p.Service != "taskrouter-test" {
		t.Errorf("child %+v, parent %+v", c, p)
	}
}

func TestOffMeansNoTracer(t *testing.T) {
	p, err := tracing.Start(context.Background(), tracing.Config{})
	if err != nil || p != nil || p.Tracer() != nil || p.Shutdown(context.Background()) != nil {
		t.Fatalf("off: %v %v", p, err)
	}
}
