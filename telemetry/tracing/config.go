// Package tracing sets up OpenTelemetry tracing from the standard OTEL_*
// environment variables: an OTLP/HTTP exporter of its own behind the
// SDK's batching span processor, a sampler and the process's resource.
// The command reads the environment and hands it in; nothing here reads
// it but the HTTPS_PROXY-style variables, as every Go HTTP client does.
package tracing

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// DefaultEndpoint is where traces go when OTEL_TRACES_EXPORTER=otlp
// names no endpoint: a collector's OTLP/HTTP port on this machine.
const DefaultEndpoint = "http://localhost:4318/v1/traces"

// Config is how traces are exported. The zero value exports nothing.
type Config struct {
	// Enabled turns tracing on.
	Enabled bool
	// Endpoint is the full URL spans are POSTed to (OTLP/HTTP protobuf),
	// such as http://collector:4318/v1/traces.
	Endpoint string
	// Headers go with every export, such as an API key of the backend.
	Headers map[string]string
	// Timeout bounds each export, retries included (0: DefaultTimeout).
	Timeout time.Duration
	// Gzip compresses exports.
	Gzip bool
	// Certificate is a PEM file of the CAs the endpoint's certificate is
	// checked against instead of the system's.
	Certificate string
	// ClientCertificate and ClientKey are PEM files of the certificate
	// and key this process shows the endpoint (mutual TLS).
	ClientCertificate, ClientKey string
	// ServiceName and ServiceVersion are the resource's service.name and
	// service.version.
	ServiceName, ServiceVersion string
	// Attributes are the resource's other attributes.
	Attributes []attribute.KeyValue
	// Sampler decides which traces are kept (default: parent-based,
	// always on).
	Sampler sdktrace.Sampler
}

// FromEnv reads the standard variables through getenv:
// OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER (otlp or none),
// OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
// OTEL_EXPORTER_OTLP_PROTOCOL and its TRACES_ form (http/protobuf),
// OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT (milliseconds), _COMPRESSION (gzip
// or none), _CERTIFICATE, _CLIENT_CERTIFICATE and _CLIENT_KEY and their
// TRACES_ forms (which win), OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
// OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG. Tracing is on when an endpoint is set or the
// exporter is otlp, and not disabled. service is the service.name unless
// OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES names one. Errors name the
// variable and say what it may hold.
func FromEnv(getenv func(string) string, service string) (Config, error) {
	c := Config{ServiceName: service}
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return Config{}, nil
	}
	exporter := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER"))
	switch exporter {
	case "", "otlp":
	case "none":
		return Config{}, nil
	default:
		return c, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: taskrouter exports traces with otlp (or none)", exporter)
	}
	endpoint, err := endpointFromEnv(getenv)
	if err != nil || endpoint == "" && exporter == "" {
		return Config{}, err
	}
	c.Enabled, c.Endpoint = true, endpoint
	if c.Endpoint == "" {
		c.Endpoint = DefaultEndpoint
	}
	if err := checkProtocol(getenv); err != nil {
		return c, err
	}
	if c.Headers, err = headersFromEnv(getenv); err != nil {
		return c, err
	}
	if err := c.exportFromEnv(getenv); err != nil {
		return c, err
	}
	if err := c.resourceFromEnv(getenv); err != nil {
		return c, err
	}
	c.Sampler, err = SamplerFromEnv(getenv("OTEL_TRACES_SAMPLER"), getenv("OTEL_TRACES_SAMPLER_ARG"))
	return c, err
}

// endpointFromEnv is the traces URL: the signal's own variable as it is,
// else the base endpoint with /v1/traces appended.
func endpointFromEnv(getenv func(string) string) (string, error) {
	name, raw := "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
	if raw == "" {
		name, raw = "OTEL_EXPORTER_OTLP_ENDPOINT", strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_ENDPOINT"))
		if raw != "" {
			raw = strings.TrimRight(raw, "/") + "/v1/traces"
		}
	}
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%s=%q: want an http(s) URL such as http://collector:4318", name, raw)
	}
	return raw, nil
}

func checkProtocol(getenv func(string) string) error {
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		switch p := strings.TrimSpace(getenv(name)); p {
		case "", "http/protobuf":
		default:
			return fmt.Errorf("%s=%q: taskrouter exports OTLP over http/protobuf (a collector's port 4318); set it so or leave it out", name, p)
		}
	}
	return nil
}

// signalEnv reads the traces' own form of an OTEL_EXPORTER_OTLP_ variable,
// else the general one, and says which it read.
func signalEnv(getenv func(string) string, suffix string) (name, value string) {
	name = "OTEL_EXPORTER_OTLP_TRACES_" + suffix
	if v := strings.TrimSpace(getenv(name)); v != "" {
		return name, v
	}
	name = "OTEL_EXPORTER_OTLP_" + suffix
	return name, strings.TrimSpace(getenv(name))
}

// exportFromEnv reads how each export is made: its timeout, compression
// and TLS files.
func (c *Config) exportFromEnv(getenv func(string) string) error {
	if name, v := signalEnv(getenv, "TIMEOUT"); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms <= 0 || ms > int64(24*time.Hour/time.Millisecond) {
			return fmt.Errorf("%s=%q: want a whole number of milliseconds from 1 to a day, such as 10000", name, v)
		}
		c.Timeout = time.Duration(ms) * time.Millisecond
	}
	switch name, v := signalEnv(getenv, "COMPRESSION"); v {
	case "", "none":
	case "gzip":
		c.Gzip = true
	default:
		return fmt.Errorf("%s=%q: taskrouter compresses exports with gzip (or none)", name, v)
	}
	_, c.Certificate = signalEnv(getenv, "CERTIFICATE")
	_, c.ClientCertificate = signalEnv(getenv, "CLIENT_CERTIFICATE")
	_, c.ClientKey = signalEnv(getenv, "CLIENT_KEY")
	return nil
}

// tlsConfig loads the TLS files; nil, without them, is the system's CAs.
func (c Config) tlsConfig() (*tls.Config, error) {
	if c.Certificate == "" && c.ClientCertificate == "" && c.ClientKey == "" {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.Certificate != "" {
		pem, err := os.ReadFile(c.Certificate)
		if err != nil {
			return nil, fmt.Errorf("reading the exporter's CA certificates: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("the exporter's CA file %s holds no PEM certificate", c.Certificate)
		}
	}
	if (c.ClientCertificate == "") != (c.ClientKey == "") {
		return nil, errors.New("the exporter's client certificate and client key go together: set both or neither")
	}
	if c.ClientCertificate != "" {
		cert, err := tls.LoadX509KeyPair(c.ClientCertificate, c.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("loading the exporter's client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// headersFromEnv reads "key=value,key2=value2" lists with percent-encoded
// values; the signal's own variable wins per key. Values are secrets as
// often as not, and no error repeats one.
func headersFromEnv(getenv func(string) string) (map[string]string, error) {
	h := map[string]string{}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"} {
		kv, err := parseList(getenv(name))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		for k, v := range kv {
			h[k] = v
		}
	}
	return h, nil
}

// parseList reads the W3C Baggage-like "k=v,k2=v2" lists the OTEL_*
// variables use.
func parseList(s string) (map[string]string, error) {
	out := map[string]string{}
	for i, item := range strings.Split(s, ",") {
		if strings.TrimSpace(item) == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("item %d is not key=value", i+1)
		}
		dv, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("the value of %s is not percent-encoded correctly", k)
		}
		out[k] = dv
	}
	return out, nil
}

func (c *Config) resourceFromEnv(getenv func(string) string) error {
	attrs, err := parseList(getenv("OTEL_RESOURCE_ATTRIBUTES"))
	if err != nil {
		return fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	for k, v := range attrs {
		if k == "service.name" {
			c.ServiceName = v
			continue
		}
		c.Attributes = append(c.Attributes, attribute.String(k, v))
	}
	if name := strings.TrimSpace(getenv("OTEL_SERVICE_NAME")); name != "" {
		c.ServiceName = name
	}
	return nil
}

// SamplerFromEnv builds the sampler OTEL_TRACES_SAMPLER names, with
// OTEL_TRACES_SAMPLER_ARG the ratio of the traceidratio samplers (1 when
// unset). Empty means parentbased_always_on.
func SamplerFromEnv(name, arg string) (sdktrace.Sampler, error) {
	ratio := 1.0
	if arg = strings.TrimSpace(arg); arg != "" && strings.HasSuffix(name, "traceidratio") {
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || r < 0 || r > 1 {
			return nil, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG=%q: want a ratio from 0 to 1, such as 0.1", arg)
		}
		ratio = r
	}
	switch strings.TrimSpace(name) {
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "traceidratio":
		return sdktrace.TraceIDRatioBased(ratio), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "parentbased_traceidratio":
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio)), nil
	}
	return nil, fmt.Errorf("OTEL_TRACES_SAMPLER=%q: use always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio", name)
}
