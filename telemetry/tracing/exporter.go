package tracing

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/net/http/httpguts"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// DefaultTimeout bounds an export, retries included, when Config.Timeout
// is zero: OTEL_EXPORTER_OTLP_TIMEOUT's default.
const DefaultTimeout = 10 * time.Second

const (
	// firstBackoff is the wait before the first retry; it doubles, with
	// jitter, up to maxBackoff, within the export's timeout.
	firstBackoff, maxBackoff = time.Second, 30 * time.Second
	// snippetBytes of a refusal's body go into its StatusError.
	snippetBytes = 512
	// maxAnswer is how much of an answer is read: a partial success is
	// small, and draining a bigger body to reuse the connection is not
	// worth more.
	maxAnswer = 64 << 10
)

// ErrShutdown is what ExportSpans returns once the exporter is shut down.
var ErrShutdown = errors.New("the trace exporter is shut down")

// StatusError is a receiver's refusal of an export.
type StatusError struct {
	// Code is the HTTP status.
	Code int
	// Body is the start of the answer, made printable: receivers say
	// there what they did not like.
	Body string
}

// Error says the status and the start of the body.
func (e *StatusError) Error() string {
	return fmt.Sprintf("the OTLP receiver answered %d %s: %s", e.Code, http.StatusText(e.Code), e.Body)
}

// retryable is what OTLP/HTTP says a client may try again after.
func (e *StatusError) retryable() bool {
	switch e.Code {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// PartialSuccess is a receiver's report that it took an export but
// rejected some of its spans. The exporter hands it to otel.Handle: the
// export succeeded and is not retried.
type PartialSuccess struct {
	// Rejected is how many spans the receiver dropped.
	Rejected int64
	// Message is the receiver's reason.
	Message string
}

// Error says how many spans were rejected, and why.
func (p *PartialSuccess) Error() string {
	return fmt.Sprintf("the OTLP receiver rejected %d spans: %s", p.Rejected, p.Message)
}

// exporter sends spans over OTLP/HTTP in protobuf, encoding them without
// the official exporter's intermediate structs: that transform and its
// marshalling cost more CPU per span than recording it.
type exporter struct {
	url     string
	name    string      // url without credentials or query, for errors
	header  http.Header // never in an error or a log: values are often keys
	gzip    bool
	timeout time.Duration
	backoff time.Duration
	client  *http.Client
	// stopped ends when Shutdown is called, cancelling exports in flight.
	stopped context.Context
	stop    context.CancelCauseFunc
	bodies  payloads
}

var _ sdktrace.SpanExporter = (*exporter)(nil)

// NewExporter returns a span exporter that POSTs to c.Endpoint as
// OTLP/HTTP protobuf, with c.Headers, c.Timeout, c.Gzip and c's TLS files,
// and a User-Agent naming taskrouter and c.ServiceVersion. It connects on
// the first export and is safe for concurrent use. It fails on an
// endpoint, a header or a TLS file it cannot use.
func NewExporter(c Config) (sdktrace.SpanExporter, error) {
	u, err := url.Parse(c.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("the traces endpoint is not an http(s) URL such as http://collector:4318/v1/traces")
	}
	for k, v := range c.Headers {
		if !httpguts.ValidHeaderFieldName(k) || !httpguts.ValidHeaderFieldValue(v) {
			return nil, fmt.Errorf("the export header %q has a name or value HTTP cannot carry", k)
		}
	}
	tlsc, err := c.tlsConfig()
	if err != nil {
		return nil, err
	}
	e := &exporter{url: c.Endpoint, name: (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String(),
		header: http.Header{}, gzip: c.Gzip, timeout: c.Timeout, backoff: firstBackoff,
		client: &http.Client{Transport: newTransport(tlsc)}}
	if e.timeout <= 0 {
		e.timeout = DefaultTimeout
	}
	e.header.Set("User-Agent", userAgent(c.ServiceVersion))
	for k, v := range c.Headers {
		e.header.Set(k, v)
	}
	e.header.Set("Content-Type", "application/x-protobuf")
	if e.gzip {
		e.header.Set("Content-Encoding", "gzip")
	}
	e.stopped, e.stop = context.WithCancelCause(context.Background())
	return e, nil
}

func userAgent(version string) string {
	if version == "" {
		version = "dev"
	}
	return "taskrouter/" + version + " (OTLP/HTTP trace exporter)"
}

// newTransport is net/http's default transport, of its own so that other
// code changing that one does not change this.
func newTransport(tlsc *tls.Config) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsc,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          10,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// ExportSpans sends spans, retrying what OTLP says may be retried until
// the exporter's timeout or ctx ends. A batch with no span sends nothing.
// It returns ErrShutdown after Shutdown, a *StatusError when the receiver
// refuses the batch, and otherwise wraps the transport's or the context's
// error.
func (e *exporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if e.stopped.Err() != nil {
		return ErrShutdown
	}
	p := e.bodies.get()
	p.refs.Store(1)
	defer p.release()
	err := p.encode(spans, e.gzip)
	recycleFinished(spans)
	if err != nil || len(p.body) == 0 {
		return err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer context.AfterFunc(e.stopped, func() { cancel(ErrShutdown) })()
	ctx, cancelTimeout := context.WithTimeout(ctx, e.timeout)
	defer cancelTimeout()
	return e.send(ctx, p)
}

// send posts p until it is taken, refused for good, or ctx ends, waiting
// between tries for the longer of the backoff and the receiver's
// Retry-After.
func (e *exporter) send(ctx context.Context, p *payload) error {
	backoff := e.backoff
	for {
		after, retry, err := e.post(ctx, p)
		if !retry {
			return err
		}
		wait := max(after, backoff/2+rand.N(backoff/2+1))
		backoff = min(2*backoff, maxBackoff)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return fmt.Errorf("giving up before the export's deadline, %v away, as the next try would come after it: %w", time.Until(deadline).Round(time.Millisecond), err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (the last try: %w)", context.Cause(ctx), err)
		case <-t.C:
		}
	}
}

// post makes one try. retry says whether another may succeed, after at
// least the receiver's Retry-After.
func (e *exporter) post(ctx context.Context, p *payload) (after time.Duration, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, nil)
	if err != nil {
		return 0, false, fmt.Errorf("posting spans to %s: %w", e.name, err)
	}
	req.Header = e.header.Clone()
	req.Body, req.ContentLength = p.reader(), int64(len(p.body))
	req.GetBody = func() (io.ReadCloser, error) { return p.reader(), nil }
	resp, err := e.client.Do(req)
	if err != nil {
		// The url.Error around it repeats the URL, query and all.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		// Whether Shutdown or the deadline ended it, not just that it was
		// cancelled.
		if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
			err = fmt.Errorf("%w: %w", cause, err)
		}
		var badCert *tls.CertificateVerificationError
		return 0, ctx.Err() == nil && !errors.As(err, &badCert), fmt.Errorf("posting spans to %s: %w", e.name, err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
		resp.Body.Close()
	}()
	if resp.StatusCode/100 == 2 {
		e.readAnswer(resp)
		return 0, false, nil
	}
	serr := &StatusError{Code: resp.StatusCode, Body: snippet(resp.Body)}
	return retryAfter(resp.Header.Get("Retry-After")), serr.retryable(), serr
}

// readAnswer reports a partial success. A taken export is not failed over
// its answer, so a bad one is reported too, and that is all.
func (e *exporter) readAnswer(resp *http.Response) {
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/x-protobuf" {
		return
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil || len(data) == 0 {
		return
	}
	var answer coltracepb.ExportTraceServiceResponse
	if err := proto.Unmarshal(data, &answer); err != nil {
		otel.Handle(fmt.Errorf("reading the answer of %s to an export: %w", e.name, err))
		return
	}
	if ps := answer.GetPartialSuccess(); ps.GetRejectedSpans() != 0 || ps.GetErrorMessage() != "" {
		otel.Handle(&PartialSuccess{Rejected: ps.GetRejectedSpans(), Message: ps.GetErrorMessage()})
	}
}

// snippet is the start of body, one line of printable text.
func snippet(body io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(body, snippetBytes))
	s := strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, strings.ToValidUTF8(string(b), "\uFFFD")))
	if s == "" {
		return "(no body)"
	}
	return s
}

// retryAfter reads Retry-After's seconds or date; anything else is none.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil && s >= 0 {
		return time.Duration(min(s, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// Shutdown makes later exports fail with ErrShutdown and cancels those in
// flight. It does not wait, and calling it again does nothing.
func (e *exporter) Shutdown(context.Context) error {
	e.stop(ErrShutdown)
	e.client.CloseIdleConnections()
	return nil
}
