package httpapi_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/taskrouter/taskrouter/adapters/httpapi"
	"github.com/taskrouter/taskrouter/adapters/httpapi/webhook"
	"github.com/taskrouter/taskrouter/telemetry"
)

// httpMetrics is an httpapi.Metrics that writes down every call.
type httpMetrics struct {
	mu    sync.Mutex
	calls []string
}

func (m *httpMetrics) add(s string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, s)
}
func (m *httpMetrics) HTTPRequest(route string, code int, _ time.Duration) {
	m.add(fmt.Sprintf("http %s %d", route, code))
}
func (m *httpMetrics) RateLimited(route string)            { m.add("limited " + route) }
func (m *httpMetrics) WebhookRejected(hook, reason string) { m.add("webhook " + hook + " " + reason) }
func (m *httpMetrics) got() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(slices.Values(m.calls))
}

func TestParseAPIKey(t *testing.T) {
	for _, c := range []struct{ in, name, key string }{
		{"ops:sk-1", "ops", "sk-1"},
		{" ci-bot : sk-2 ", "key-", " ci-bot : sk-2"}, // a name has no spaces: the whole is the key
		{"sk-bare", "key-", "sk-bare"},
		{"ops:", "key-", "ops:"},
		{"a:b:c", "a", "b:c"},
	} {
		name, key := httpapi.ParseAPIKey(c.in)
		if !strings.HasPrefix(name, c.name) || key != strings.TrimSpace(c.key) {
			t.Errorf("ParseAPIKey(%q) = %q, %q; want %q, %q", c.in, name, key, c.name, c.key)
		}
	}
	a, _ := httpapi.ParseAPIKey("sk-bare")
	b, _ := httpapi.ParseAPIKey("sk-other")
	if a == b || len(a) != len("key-")+8 {
		t.Errorf("bare keys are named %q and %q", a, b)
	}
}

// Every request gets one access log line at info with its route pattern,
// status and the name of its key (never the key), and is counted by
// route pattern and code; a rate-limited one is counted as such.
func TestAccessLogAndMetrics(t *testing.T) {
	const named, bare = "sk-ops-secret-0123456789", "sk-bare-secret-9876543210"
	var logs syncBuffer
	var m httpMetrics
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	e := newEnv(t, envOptions{cfg: httpapi.Config{APIKeys: []string{"ops:" + named, bare}, Logger: log, Metrics: &m,
		Limiter: newLimiter(t, 1)}})
	decode[completionObject](t, e.do("POST", "/v1/chat/completions", named, chatBody("gpt-test", false, "user", "hi")), 200)
	wantError(t, e.do("GET", "/v1/jobs/job_nope", bare, nil), 404, "job_not_found")
	wantError(t, e.do("GET", "/v1/jobs/job_nope", "sk-wrong", nil), 401, "invalid_api_key")
	wantError(t, e.do("GET", "/nowhere", "", nil), 404, "unknown_url")
	wantError(t, e.do("GET", "/v1/models", named, nil), 429, "rate_limit_exceeded") // the key's bucket of 1 is spent
	want := []string{"http / 404", "http /v1/chat/completions 200", "http /v1/jobs/{id} 401", "http /v1/jobs/{id} 404",
		"http /v1/models 429", "limited /v1/models"}
	if got := m.got(); !slices.Equal(got, want) {
		t.Errorf("metrics:\n got %q\nwant %q", got, want)
	}
	type line struct {
		Msg, Route, Path, Key, RequestID, JobID string
		Status                                  int
		Duration                                int64
	}
	var lines []line
	for _, raw := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var l struct {
			Msg       string `json:"msg"`
			Route     string `json:"route"`
			Path      string `json:"path"`
			Key       string `json:"key"`
			Status    int    `json:"status"`
			RequestID string `json:"request_id"`
			JobID     string `json:"job_id"`
			Duration  int64  `json:"duration"`
		}
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			t.Fatalf("a log line is not JSON: %q", raw)
		}
		if l.Msg == "http request" {
			lines = append(lines, line{l.Msg, l.Route, l.Path, l.Key, l.RequestID, l.JobID, l.Status, l.Duration})
		}
	}
	if len(lines) != 5 {
		t.Fatalf("%d access log lines: %+v", len(lines), lines)
	}
	chat, job := lines[0], lines[1]
	if chat.Route != "/v1/chat/completions" || chat.Status != 200 || chat.Key != "ops" || !strings.HasPrefix(chat.RequestID, "req_") || chat.Duration <= 0 {
		t.Errorf("chat line %+v", chat)
	}
	if job.Route != "/v1/jobs/{id}" || job.Status != 404 || !strings.HasPrefix(job.Key, "key-") || job.JobID != "job_nope" {
		t.Errorf("job line %+v", job)
	}
	if lines[2].Key != "" || lines[2].Status != 401 {
		t.Errorf("a refused key has a name in %+v", lines[2])
	}
	for _, secret := range []string{named, bare, "sk-wrong"} {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("the logs hold a key")
		}
	}
}

// A request's span is a child of the caller's traceparent, named by its
// route pattern; the router's spans are its children.
func TestIncomingTraceparentIsHonoured(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	e := newEnv(t, envOptions{cfg: httpapi.Config{Tracer: tp.Tracer("test")}})
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	req, _ := http.NewRequest("GET", e.url+"/v1/models", nil)
	req.Header.Set("traceparent", parent)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ended := spans.Ended()
	if len(ended) != 1 {
		t.Fatalf("%d spans", len(ended))
	}
	s := ended[0]
	want, _ := telemetry.ParseTraceparent(parent)
	if s.Name() != "GET /v1/models" || s.Parent().SpanID() != want.SpanID() || s.SpanContext().TraceID() != want.TraceID() {
		t.Errorf("span %q parent %v trace %v", s.Name(), s.Parent().SpanID(), s.SpanContext().TraceID())
	}
}

// Webhook deliveries that create no job are counted by hook and reason,
// with unknown hooks under one label.
func TestWebhookRejectionsAreCounted(t *testing.T) {
	secret, err := webhook.ParseSecret(hookSecret)
	if err != nil {
		t.Fatal(err)
	}
	var m httpMetrics
	e := newEnv(t, envOptions{cfg: httpapi.Config{Metrics: &m,
		Hooks: []httpapi.Hook{{Name: "issues", Verifier: webhook.Verifier{Secrets: []webhook.Secret{secret}}}}}})
	body := `{"input": "hello"}`
	postHook(t, e, "issues", signed(secret, "msg_1", time.Now(), body), body)
	postHook(t, e, "issues", signed(secret, "msg_1", time.Now(), body), body)
	postHook(t, e, "issues", signed(secret, "msg_2", time.Now().Add(-time.Hour), body), body)
	postHook(t, e, "whatever-"+fmt.Sprint(time.Now().UnixNano()), signed(secret, "msg_3", time.Now(), body), body)
	var rejections []string
	for _, c := range m.got() {
		if strings.HasPrefix(c, "webhook ") {
			rejections = append(rejections, c)
		}
	}
	want := []string{"webhook issues duplicate", "webhook issues invalid_signature", "webhook unknown unknown_hook"}
	if !slices.Equal(rejections, want) {
		t.Errorf("rejections %q, want %q", rejections, want)
	}
}
