package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/adapters/httpapi"
	"github.com/taskrouter/taskrouter/adapters/httpapi/ratelimit"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/task"
)

const chatOrigin = "https://chat.example.com"

// sdkHeaders is what a browser lists in Access-Control-Request-Headers
// for a call of OpenAI's JavaScript SDK: lower case, sorted.
const sdkHeaders = "authorization,content-type,openai-organization,x-stainless-arch,x-stainless-lang,x-stainless-os," +
	"x-stainless-package-version,x-stainless-retry-count,x-stainless-runtime,x-stainless-runtime-version,x-stainless-timeout"

// send sends a request with the given headers and body.
func (e *env) send(method, path string, h http.Header, body string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// preflight sends what a browser sends before a cross-origin call.
func (e *env) preflight(path, origin, method string) *http.Response {
	e.t.Helper()
	return e.send(http.MethodOptions, path, http.Header{"Origin": {origin},
		"Access-Control-Request-Method": {method}, "Access-Control-Request-Headers": {sdkHeaders}}, "")
}

// countingLimiter counts the tokens taken.
type countingLimiter struct {
	ratelimit.Limiter
	taken atomic.Int64
}

func (c *countingLimiter) Take(ctx context.Context, caller string) (ratelimit.Decision, error) {
	c.taken.Add(1)
	return c.Limiter.Take(ctx, caller)
}

func newLimiter(t *testing.T, burst int) *countingLimiter {
	t.Helper()
	m, err := ratelimit.NewMemory(ratelimit.Limit{Rate: 0.001, Burst: burst})
	if err != nil {
		t.Fatal(err)
	}
	return &countingLimiter{Limiter: m}
}

func originHeader(origin, key string) http.Header {
	h := http.Header{"Origin": {origin}, "Content-Type": {"application/json"}}
	if key != "" {
		h.Set("Authorization", "Bearer "+key)
	}
	return h
}

func TestCORSOffByDefault(t *testing.T) {
	e := newEnv(t, envOptions{})
	resp := e.preflight("/v1/chat/completions", chatOrigin, "POST")
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight without CORS: %d %v", resp.StatusCode, resp.Header)
	}
	resp = e.send("GET", "/v1/models", originHeader(chatOrigin, ""), "")
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "" || resp.Header.Get("Vary") != "" {
		t.Fatalf("GET without CORS: %d %v", resp.StatusCode, resp.Header)
	}
}

// A preflight needs no API key, takes no rate-limit token, and allows
// only the configured origins and the API's methods.
func TestCORSPreflight(t *testing.T) {
	lim := newLimiter(t, 10)
	e := newEnv(t, envOptions{cfg: httpapi.Config{APIKeys: []string{"sk-cors"}, Limiter: lim, CORS: httpapi.CORS{
		AllowedOrigins: []string{chatOrigin, "https://*.corp.example", "http://localhost:*"}, MaxAge: 90 * time.Second}}})
	cases := []struct {
		origin, method, path string
		allowed              bool
	}{
		{chatOrigin, "POST", "/v1/chat/completions", true},
		{"https://team.corp.example", "GET", "/v1/models", true},
		{"http://localhost:5173", "DELETE", "/v1/jobs/job_x", true},
		{"https://evil.example", "POST", "/v1/chat/completions", false},
		{"https://evilcorp.example", "GET", "/v1/models", false},
		{"https://corp.example", "GET", "/v1/models", false},
		{"https://chat.example.com.evil.example", "POST", "/v1/chat/completions", false},
		{"http://chat.example.com", "POST", "/v1/chat/completions", false},
		{"http://localhost", "GET", "/v1/models", false},
		{chatOrigin, "PUT", "/v1/jobs", false},
	}
	for _, c := range cases {
		resp := e.preflight(c.path, c.origin, c.method)
		h := resp.Header
		if resp.StatusCode != http.StatusNoContent || !strings.Contains(h.Get("Vary"), "Origin") {
			t.Fatalf("%s from %s: %d %v", c.method, c.origin, resp.StatusCode, h)
		}
		if !c.allowed {
			if h.Get("Access-Control-Allow-Origin") != "" || h.Get("Access-Control-Allow-Methods") != "" {
				t.Errorf("%s from %s was allowed: %v", c.method, c.origin, h)
			}
			continue
		}
		if h.Get("Access-Control-Allow-Origin") != c.origin || h.Get("Access-Control-Allow-Methods") != c.method ||
			h.Get("Access-Control-Allow-Headers") != sdkHeaders || h.Get("Access-Control-Max-Age") != "90" ||
			h.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("%s from %s: %v", c.method, c.origin, h)
		}
	}
	if n := lim.taken.Load(); n != 0 {
		t.Fatalf("preflights took %d rate-limit tokens", n)
	}
	// The call after the preflight is checked as usual, and a page can
	// read why it was refused.
	resp := e.send("GET", "/v1/models", originHeader(chatOrigin, ""), "")
	if resp.Header.Get("Access-Control-Allow-Origin") != chatOrigin {
		t.Fatalf("the 401 carries no CORS headers: %v", resp.Header)
	}
	wantError(t, resp, 401, "missing_api_key")
	decode[map[string]any](t, e.send("GET", "/v1/models", originHeader(chatOrigin, "sk-cors"), ""), 200)
	if n := lim.taken.Load(); n != 1 {
		t.Fatalf("one call took %d tokens", n)
	}
}

// Answers to allowed origins carry CORS headers and expose the headers
// the API sets; others get none.
func TestCORSActualRequests(t *testing.T) {
	e := newEnv(t, envOptions{cfg: httpapi.Config{APIKeys: []string{"sk-a", "sk-b"}, Limiter: newLimiter(t, 2),
		CORS: httpapi.CORS{AllowedOrigins: []string{chatOrigin}}}})
	exposed := func(resp *http.Response) {
		t.Helper()
		h := resp.Header
		if h.Get("Access-Control-Allow-Origin") != chatOrigin || h.Get("Access-Control-Allow-Credentials") != "" ||
			h.Get("Access-Control-Expose-Headers") != "Retry-After, Location, X-Request-Id, X-Taskrouter-Model, Mcp-Session-Id" {
			t.Fatalf("CORS headers: %v", h)
		}
	}
	resp := e.send("POST", "/v1/jobs", originHeader(chatOrigin, "sk-a"), `{"input":"hello"}`)
	exposed(resp)
	if resp.StatusCode != http.StatusAccepted || !strings.HasPrefix(resp.Header.Get("Location"), "/v1/jobs/job_") {
		t.Fatalf("job: %d %v", resp.StatusCode, resp.Header)
	}
	resp = e.send("GET", "/v1/models", originHeader("https://evil.example", "sk-a"), "")
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "" || resp.Header.Get("Access-Control-Expose-Headers") != "" {
		t.Fatalf("refused origin: %d %v", resp.StatusCode, resp.Header)
	}
	resp = e.send("GET", "/v1/models", originHeader(chatOrigin, "sk-a"), "")
	exposed(resp)
	if resp.Header.Get("Retry-After") == "" {
		t.Fatalf("429 without Retry-After: %v", resp.Header)
	}
	wantError(t, resp, http.StatusTooManyRequests, "rate_limit_exceeded")
	body, _ := json.Marshal(chatBody("gpt-test", false, "user", "hi"))
	resp = e.send("POST", "/v1/chat/completions", originHeader(chatOrigin, "sk-b"), string(body))
	exposed(resp)
	if c := decode[completionObject](t, resp, 200); c.Choices[0].Message.Content != reply || resp.Header.Get("X-Request-Id") == "" {
		t.Fatalf("chat: %+v %v", c, resp.Header)
	}
}

// "*" allows every origin on /v1, but the webhooks, called server to
// server, and /healthz get no CORS.
func TestCORSAllOriginsSparesWebhooks(t *testing.T) {
	e := newEnv(t, envOptions{cfg: httpapi.Config{CORS: httpapi.CORS{AllowedOrigins: []string{"*"}}}})
	resp := e.preflight("/v1/models", "https://anywhere.example", "GET")
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Access-Control-Max-Age") != "600" {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	resp = e.send("GET", "/v1/models", originHeader("https://anywhere.example", ""), "")
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("GET: %d %v", resp.StatusCode, resp.Header)
	}
	for _, path := range []string{"/v1/webhooks/default", "/healthz"} {
		resp = e.preflight(path, "https://anywhere.example", "POST")
		if resp.StatusCode == http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight of %s: %d %v", path, resp.StatusCode, resp.Header)
		}
	}
	resp = e.send("POST", "/v1/webhooks/default", originHeader("https://anywhere.example", ""), `{}`)
	if resp.Header.Get("Access-Control-Allow-Origin") != "" || resp.Header.Get("Vary") != "" {
		t.Fatalf("webhook answer: %d %v", resp.StatusCode, resp.Header)
	}
}

// A stream with an Origin goes out chunk by chunk through the CORS
// wrapper and outlives read and write timeouts shorter than itself: the
// read deadline is lifted and the write deadline re-armed on the
// connection.
func TestCORSStreamsChunkByChunk(t *testing.T) {
	e := newEnv(t, envOptions{cfg: httpapi.Config{ReadTimeout: 150 * time.Millisecond, WriteTimeout: 150 * time.Millisecond,
		CORS: httpapi.CORS{AllowedOrigins: []string{chatOrigin}}}})
	e.upstream.Script("gpt-test", openaitestSlowReply())
	body, _ := json.Marshal(chatBody("gpt-test", true, "user", "count"))
	resp := e.send("POST", "/v1/chat/completions", originHeader(chatOrigin, ""), string(body))
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != chatOrigin ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %d %v", resp.StatusCode, resp.Header)
	}
	var text strings.Builder
	var arrived []time.Time
	last := ""
	br := bufio.NewReader(resp.Body)
	for {
		line, err := br.ReadString('\n')
		if data, ok := strings.CutPrefix(strings.TrimSpace(line), "data: "); ok {
			last = data
			var c completionObject
			if json.Unmarshal([]byte(data), &c) == nil && len(c.Choices) == 1 && c.Choices[0].Delta.Content != nil && *c.Choices[0].Delta.Content != "" {
				text.WriteString(*c.Choices[0].Delta.Content)
				arrived = append(arrived, time.Now())
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if last != "[DONE]" || text.String() != openaitestSlowReply().Reply || len(arrived) < 5 {
		t.Fatalf("streamed %q in %d chunks, last event %q", text.String(), len(arrived), last)
	}
	// Ten tokens 40ms apart: a buffered answer would arrive all at once.
	if spread := arrived[len(arrived)-1].Sub(arrived[0]); spread < 150*time.Millisecond {
		t.Fatalf("the chunks arrived within %s of each other; the stream was buffered", spread)
	}
}

// A cross-origin client that stops reading a stream is still dropped after
// the write timeout: the deadline reaches the connection through CORS.
func TestCORSStalledStreamIsDropped(t *testing.T) {
	stopped := make(chan struct{}, 1)
	firehose := funcModel(func(ctx context.Context, w task.Work, progress func(string)) (task.Output, error) {
		chunk := strings.Repeat("x", 32<<10)
		for start := time.Now(); time.Since(start) < 20*time.Second; {
			select {
			case <-ctx.Done():
				stopped <- struct{}{}
				return task.Output{}, ctx.Err()
			case <-time.After(time.Millisecond):
				progress(chunk)
			}
		}
		return task.Output{Text: "done"}, nil
	})
	e := newEnv(t, envOptions{
		cfg:    httpapi.Config{WriteTimeout: 300 * time.Millisecond, CORS: httpapi.CORS{AllowedOrigins: []string{chatOrigin}}},
		models: []executors.Served{{Spec: task.ModelSpec{Name: "m/firehose", Backend: task.BackendLocal, Capabilities: []string{"chat"}, Concurrency: 1}, Model: firehose}},
	})
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"model":"m/firehose","stream":true,"messages":[{"role":"user","content":"go"}]}`
	fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nOrigin: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		chatOrigin, len(body), body)
	select {
	case <-stopped:
	case <-time.After(15 * time.Second):
		t.Fatal("the stalled cross-origin stream was never dropped")
	}
}

func TestCheckOrigin(t *testing.T) {
	for _, ok := range []string{"*", chatOrigin, "http://localhost:5173", "http://127.0.0.1:8080", "http://[::1]:3000",
		"https://*.example.com", "http://localhost:*", "tauri://localhost", "chrome-extension://abcdefghijklmnop"} {
		if err := httpapi.CheckOrigin(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for origin, want := range map[string]string{
		"":                            "is not an origin",
		"chat.example.com":            "is not an origin",
		"https://":                    "is not an origin",
		"http://:8080":                "is not an origin",
		"https://x.example?a=1":       "is not an origin",
		"https://x.example#top":       "is not an origin",
		"https://chat.example.com/":   `write "https://chat.example.com"`,
		"https://chat.example.com/ui": `has a path; an origin is scheme://host[:port] only: write "https://chat.example.com"`,
		"https://*.example.com/ui":    `write "https://*.example.com"`,
		"https://x.example:443":       `default port, which browsers leave out; write "https://x.example"`,
		"http://x.example:80":         "default port",
		"http://x.example:99999":      "a port is 1-65535",
		"https://u:p@x.example":       "user info",
		"null":                        "sandboxed",
		"https://*example.com":        "a wildcard may stand only for subdomains",
		"https://example.*":           "a wildcard may stand only for subdomains",
		"*.example.com":               "a wildcard may stand only for subdomains",
		"https://*.":                  "a wildcard may stand only for subdomains",
		"https://*.example.com:*":     "more than one wildcard",
	} {
		if err := httpapi.CheckOrigin(origin); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", origin, err, want)
		}
	}
	_, err := httpapi.New(httpapi.Config{Runner: nilRunner{}, Models: nilModels{}, CORS: httpapi.CORS{AllowedOrigins: []string{chatOrigin, "https://x.example/"}}})
	if err == nil || !strings.Contains(err.Error(), "origin 1") {
		t.Fatalf("New accepted a bad origin: %v", err)
	}
}

// An accepted origin is "*" or scheme://host[:port] alone, which is all
// that a browser's Origin header can match.
func FuzzCheckOrigin(f *testing.F) {
	for _, s := range []string{"*", chatOrigin, "http://localhost:*", "https://*.example.com", "https://x.example/", "http://[::1]:3000", "a://b@c:1/d?e#f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, origin string) {
		if httpapi.CheckOrigin(origin) != nil || origin == "*" {
			return
		}
		scheme, host, ok := strings.Cut(origin, "://")
		if !ok || scheme == "" || host == "" || strings.ContainsAny(host, "/?#@ ") {
			t.Fatalf("accepted %q", origin)
		}
	})
}
