package openai

import (
	"errors"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// Defaults of the options.
const (
	// DefaultTimeout bounds a call when the caller's context has no deadline.
	DefaultTimeout = 5 * time.Minute
	// DefaultIdleTimeout is how long a stream may send nothing, the wait
	// for the first byte included, before it counts as stalled.
	DefaultIdleTimeout = 2 * time.Minute
)

type config struct {
	httpClient *http.Client
	headers    http.Header
	timeout    time.Duration
	idle       time.Duration
	tracer     trace.Tracer
}

// Option tunes a Model.
type Option func(*config) error

// WithHTTPClient sends requests through c instead of a client of the
// package's own. Leave c.Timeout zero: it would cut long streams short;
// deadlines come from the context and WithIdleTimeout.
func WithHTTPClient(c *http.Client) Option {
	return func(cfg *config) error {
		if c == nil {
			return errors.New("WithHTTPClient: the client is nil")
		}
		cfg.httpClient = c
		return nil
	}
}

// WithHeaders adds headers to every request, over those of the spec.
func WithHeaders(h map[string]string) Option {
	return func(cfg *config) error {
		for k, v := range h {
			cfg.headers.Set(k, v)
		}
		return nil
	}
}

// WithTimeout bounds a call whose context has no deadline; zero means no
// bound. The default is DefaultTimeout.
func WithTimeout(d time.Duration) Option {
	return func(cfg *config) error {
		if d < 0 {
			return errors.New("WithTimeout: the timeout is negative")
		}
		cfg.timeout = d
		return nil
	}
}

// WithIdleTimeout sets how long a stream may stay silent before the call
// fails with a retryable upstream error. The default is DefaultIdleTimeout.
func WithIdleTimeout(d time.Duration) Option {
	return func(cfg *config) error {
		if d <= 0 {
			return errors.New("WithIdleTimeout: the timeout must be positive")
		}
		cfg.idle = d
		return nil
	}
}

// defaultHTTPClient keeps more idle connections per host than Go's default
// of two, since one model is called by many subtasks at once. A
// connection buffers connBuffer each way, not 4 KB: it holds both for as
// long as it lives, a stream's for the stream's whole length, and what
// goes through them is a request's headers and a stream's lines of a few
// hundred bytes; a longer line is read in parts, and a large body is
// read past the buffer.
func defaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	t.ReadBufferSize, t.WriteBufferSize = connBuffer, connBuffer
	return &http.Client{Transport: t}
}

// connBuffer is what an upstream connection buffers each way: as much as
// a stream's reader (streamReadBuffer), which reads the lines past it. A
// response header line longer than this is read in parts.
const connBuffer = 512
