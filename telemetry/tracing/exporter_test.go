package tracing

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/taskrouter/taskrouter/telemetry/otlptest"
)

// exchange is one request a test receiver got.
type exchange struct {
	header http.Header
	body   []byte // decompressed
	at     time.Time
}

// receiver answers the i-th export with answers[i] (the last one over
// and over) and keeps what it got.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	got     []exchange
	answers []func(http.ResponseWriter, *http.Request)
}

func startReceiver(t *testing.T, answers ...func(http.ResponseWriter, *http.Request)) *receiver {
	r := &receiver{answers: answers}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	data, err := otlptest.ReadBody(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	n := len(r.got)
	r.got = append(r.got, exchange{header: req.Header.Clone(), body: data, at: time.Now()})
	r.mu.Unlock()
	r.answers[min(n, len(r.answers)-1)](w, req)
}

func (r *receiver) exchanges() []exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]exchange(nil), r.got...)
}

func status(code int, header ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		if code != http.StatusOK {
			_, _ = io.WriteString(w, "the receiver says \x00no\n"+strings.Repeat("!", 2000))
		}
	}
}

var ok = status(http.StatusOK)

// testExporter is an exporter whose backoff starts at a millisecond, so
// that retries do not slow the tests.
func testExporter(t *testing.T, c Config) *exporter {
	t.Helper()
	se, err := NewExporter(c)
	if err != nil {
		t.Fatal(err)
	}
	e := se.(*exporter)
	e.backoff = time.Millisecond
	t.Cleanup(func() { _ = e.Shutdown(context.Background()) })
	return e
}

func spanCount(t *testing.T, body []byte) int {
	t.Helper()
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		t.Fatalf("the body does not decode: %v", err)
	}
	n := 0
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			n += len(ss.Spans)
		}
	}
	return n
}

func TestExportSendsHeadersAndSpans(t *testing.T) {
	rcv := startReceiver(t, ok)
	e := testExporter(t, Config{Endpoint: rcv.URL + "/v1/traces", Headers: map[string]string{"api-key": "s3cret", "X-Tenant": "t1"},
		ServiceVersion: "1.4.0"})
	spans := variedSpans()
	if err := e.ExportSpans(context.Background(), spans); err != nil {
		t.Fatal(err)
	}
	got := rcv.exchanges()
	if len(got) != 1 {
		t.Fatalf("%d requests", len(got))
	}
	h := got[0].header
	if h.Get("Content-Type") != "application/x-protobuf" || h.Get("Api-Key") != "s3cret" || h.Get("X-Tenant") != "t1" ||
		!strings.HasPrefix(h.Get("User-Agent"), "taskrouter/1.4.0 ") || h.Get("Content-Encoding") != "" {
		t.Errorf("headers %v", h)
	}
	if n := spanCount(t, got[0].body); n != len(spans)-1 {
		t.Errorf("%d spans arrived, want %d", n, len(spans)-1)
	}
}

func TestExportGzip(t *testing.T) {
	rcv := startReceiver(t, ok)
	e := testExporter(t, Config{Endpoint: rcv.URL, Gzip: true})
	for range 2 { // the pooled gzip writer too
		if err := e.ExportSpans(context.Background(), variedSpans()); err != nil {
			t.Fatal(err)
		}
	}
	for _, x := range rcv.exchanges() {
		if x.header.Get("Content-Encoding") != "gzip" || spanCount(t, x.body) != len(variedSpans())-1 {
			t.Errorf("headers %v, %d spans", x.header, spanCount(t, x.body))
		}
	}
}

// The test receiver the bench and the tests use takes gzip too.
func TestExportGzipToOTLPTestReceiver(t *testing.T) {
	rcv, err := otlptest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.Close()
	e := testExporter(t, Config{Endpoint: rcv.URL, Gzip: true})
	if err := e.ExportSpans(context.Background(), recordedSpans(t)); err != nil {
		t.Fatal(err)
	}
	if rcv.Count() != 2 {
		t.Errorf("the receiver has %d spans", rcv.Count())
	}
}

func TestNothingToExportSendsNothing(t *testing.T) {
	rcv := startReceiver(t, ok)
	e := testExporter(t, Config{Endpoint: rcv.URL})
	for _, spans := range [][]sdktrace.ReadOnlySpan{nil, {}, {nil}} {
		if err := e.ExportSpans(context.Background(), spans); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(rcv.exchanges()); n != 0 {
		t.Errorf("%d requests", n)
	}
}

func TestExportRetries(t *testing.T) {
	for _, c := range []struct {
		name     string
		answers  []func(http.ResponseWriter, *http.Request)
		requests int
		wait     time.Duration // at least, before the last request
	}{
		{name: "503 then 200", answers: []func(http.ResponseWriter, *http.Request){status(503), ok}, requests: 2},
		{name: "429, 502 and 504 then 200", answers: []func(http.ResponseWriter, *http.Request){status(429), status(502), status(504), ok}, requests: 4},
		{name: "Retry-After in seconds", answers: []func(http.ResponseWriter, *http.Request){status(429, "Retry-After", "1"), ok},
			requests: 2, wait: time.Second},
		{name: "a dropped connection", answers: []func(http.ResponseWriter, *http.Request){hangUp, ok}, requests: 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			rcv := startReceiver(t, c.answers...)
			e := testExporter(t, Config{Endpoint: rcv.URL})
			if err := e.ExportSpans(context.Background(), variedSpans()); err != nil {
				t.Fatal(err)
			}
			got := rcv.exchanges()
			if len(got) != c.requests {
				t.Fatalf("%d requests, want %d", len(got), c.requests)
			}
			if wait := got[len(got)-1].at.Sub(got[len(got)-2].at); wait < c.wait {
				t.Errorf("retried after %v, want at least %v", wait, c.wait)
			}
			if spanCount(t, got[len(got)-1].body) != len(variedSpans())-1 {
				t.Errorf("the retry lost spans")
			}
		})
	}
}

func hangUp(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

// A refusal other than the retryable ones fails at once, with the status
// and the start of the body, and without the headers' values or the
// endpoint's query.
func TestExportRefusedFailsAtOnce(t *testing.T) {
	for _, code := range []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge, http.StatusInternalServerError} {
		rcv := startReceiver(t, status(code))
		e := testExporter(t, Config{Endpoint: rcv.URL + "/v1/traces?token=qsecret", Headers: map[string]string{"api-key": "s3cret"}})
		err := e.ExportSpans(context.Background(), variedSpans())
		var se *StatusError
		if !errors.As(err, &se) || se.Code != code || !strings.Contains(err.Error(), http.StatusText(code)) ||
			!strings.HasPrefix(se.Body, "the receiver says  no !!!") || len(se.Body) > snippetBytes {
			t.Errorf("%d: error %v", code, err)
		}
		if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "qsecret") {
			t.Errorf("%d: the error repeats a secret: %v", code, err)
		}
		if n := len(rcv.exchanges()); n != 1 {
			t.Errorf("%d: %d requests", code, n)
		}
	}
}

func TestConnectionErrorsDoNotRepeatTheQuery(t *testing.T) {
	rcv := startReceiver(t, ok)
	rcv.Close()
	e := testExporter(t, Config{Endpoint: rcv.URL + "/v1/traces?token=qsecret", Timeout: 50 * time.Millisecond})
	err := e.ExportSpans(context.Background(), variedSpans())
	if err == nil || strings.Contains(err.Error(), "qsecret") || !strings.Contains(err.Error(), rcv.URL+"/v1/traces") {
		t.Errorf("error %v", err)
	}
}

// Retries stop at the exporter's timeout and at the caller's deadline,
// whichever comes first.
func TestDeadlineStopsRetries(t *testing.T) {
	for _, c := range []struct {
		name     string
		timeout  time.Duration
		deadline time.Duration
	}{
		{name: "timeout", timeout: 200 * time.Millisecond, deadline: time.Minute},
		{name: "caller's deadline", timeout: time.Minute, deadline: 200 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			rcv := startReceiver(t, status(503))
			e := testExporter(t, Config{Endpoint: rcv.URL, Timeout: c.timeout})
			ctx, cancel := context.WithTimeout(context.Background(), c.deadline)
			defer cancel()
			start := time.Now()
			err := e.ExportSpans(ctx, variedSpans())
			var se *StatusError
			if !errors.As(err, &se) || se.Code != 503 {
				t.Errorf("error %v, want one with the last 503", err)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("gave up after %v", took)
			}
			if n := len(rcv.exchanges()); n < 2 {
				t.Errorf("%d requests: no retry", n)
			}
		})
	}
}

// A Retry-After past the deadline gives up at once rather than sleeping
// until the deadline.
func TestRetryAfterPastTheDeadlineGivesUp(t *testing.T) {
	rcv := startReceiver(t, status(503, "Retry-After", "3600"))
	e := testExporter(t, Config{Endpoint: rcv.URL, Timeout: 5 * time.Second})
	start := time.Now()
	err := e.ExportSpans(context.Background(), variedSpans())
	if err == nil || time.Since(start) > time.Second || len(rcv.exchanges()) != 1 {
		t.Errorf("error %v after %v and %d requests", err, time.Since(start), len(rcv.exchanges()))
	}
}

func TestPartialSuccessIsReported(t *testing.T) {
	answer, err := proto.Marshal(&coltracepb.ExportTraceServiceResponse{PartialSuccess: &coltracepb.ExportTracePartialSuccess{
		RejectedSpans: 2, ErrorMessage: "spans too old"}})
	if err != nil {
		t.Fatal(err)
	}
	rcv := startReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(answer)
	})
	var mu sync.Mutex
	var handled []error
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { mu.Lock(); handled = append(handled, err); mu.Unlock() }))
	defer otel.SetErrorHandler(prev)
	e := testExporter(t, Config{Endpoint: rcv.URL})
	if err := e.ExportSpans(context.Background(), variedSpans()); err != nil {
		t.Fatalf("a partial success failed the export: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	var ps *PartialSuccess
	if len(handled) != 1 || !errors.As(handled[0], &ps) || ps.Rejected != 2 || ps.Message != "spans too old" {
		t.Errorf("handled %v", handled)
	}
}

func TestShutdown(t *testing.T) {
	release := make(chan struct{})
	rcv := startReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	e := testExporter(t, Config{Endpoint: rcv.URL})
	inFlight := make(chan error)
	go func() { inFlight <- e.ExportSpans(context.Background(), variedSpans()) }()
	for len(rcv.exchanges()) == 0 {
		time.Sleep(time.Millisecond)
	}
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-inFlight:
		if !errors.Is(err, ErrShutdown) {
			t.Errorf("the export in flight returned %v, want ErrShutdown", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not stop the export in flight")
	}
	if err := e.ExportSpans(context.Background(), variedSpans()); !errors.Is(err, ErrShutdown) {
		t.Errorf("an export after Shutdown returned %v", err)
	}
	if err := e.Shutdown(context.Background()); err != nil {
		t.Errorf("a second Shutdown: %v", err)
	}
	if n := len(rcv.exchanges()); n != 1 {
		t.Errorf("%d requests", n)
	}
}

// Exports from several goroutines share the pool of buffers; each request
// must hold its own batch, whole.
func TestConcurrentExports(t *testing.T) {
	rcv := startReceiver(t, ok)
	e := testExporter(t, Config{Endpoint: rcv.URL, Gzip: true})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			spans := variedSpans()[:1+i%5]
			for range 10 {
				if err := e.ExportSpans(context.Background(), spans); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	total := 0
	for _, x := range rcv.exchanges() {
		total += spanCount(t, x.body)
	}
	// Batches of 1 to 5 stubs, one of them nil from the fourth on.
	if want := 10 * (1 + 2 + 3 + 3 + 4 + 1 + 2 + 3); total != want {
		t.Errorf("%d spans arrived, want %d", total, want)
	}
}

func TestHTTPSWithTheGivenCA(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	srv.StartTLS()
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	e := testExporter(t, Config{Endpoint: srv.URL, Certificate: ca})
	if err := e.ExportSpans(context.Background(), variedSpans()); err != nil {
		t.Fatalf("with the CA: %v", err)
	}
	// Without it the system's roots do not know the test server, and an
	// unknown certificate is not retried.
	e = testExporter(t, Config{Endpoint: srv.URL, Timeout: time.Minute})
	start := time.Now()
	if err := e.ExportSpans(context.Background(), variedSpans()); err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("without the CA: %v after %v", err, time.Since(start))
	}
}

func TestNewExporterRefuses(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "x.pem")
	if err := os.WriteFile(notPEM, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		c    Config
		err  string
	}{
		{name: "no scheme", c: Config{Endpoint: "collector:4318"}, err: "http(s) URL"},
		{name: "a header value with a newline", c: Config{Endpoint: "http://c", Headers: map[string]string{"api-key": "s3cret\nx"}}, err: `"api-key"`},
		{name: "a CA file that is not PEM", c: Config{Endpoint: "https://c", Certificate: notPEM}, err: "no PEM certificate"},
		{name: "a client key without its certificate", c: Config{Endpoint: "https://c", ClientKey: notPEM}, err: "set both or neither"},
	} {
		_, err := NewExporter(c.c)
		if err == nil || !strings.Contains(err.Error(), c.err) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: error %v, want one naming %s", c.name, err, c.err)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	for v, want := range map[string]time.Duration{"": 0, "0": 0, "2": 2 * time.Second, "-1": 0, "soon": 0,
		"99999999999999": 24 * time.Hour, time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat): 0} {
		if got := retryAfter(v); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", v, got, want)
		}
	}
	if got := retryAfter(time.Now().Add(time.Minute).UTC().Format(http.TimeFormat)); got < 58*time.Second || got > time.Minute {
		t.Errorf("a date a minute away: %v", got)
	}
}
