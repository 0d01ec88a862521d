package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/taskrouter/taskrouter/adapters/httpapi"
	"github.com/taskrouter/taskrouter/adapters/httpapi/ratelimit"
	mcpserver "github.com/taskrouter/taskrouter/adapters/mcp/server"
)

// lateHandler serves what is stored in it: the MCP server needs the
// router, which newEnv starts after the config is given.
type lateHandler struct {
	h    atomic.Pointer[http.Handler]
	gets sync.WaitGroup // one Done per GET that reached the handler
	got  atomic.Bool
}

func (l *lateHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && l.got.CompareAndSwap(false, true) {
		l.gets.Done()
	}
	(*l.h.Load()).ServeHTTP(w, r)
}

// newMCPEnv is an env whose HTTP API serves the MCP server at /mcp.
func newMCPEnv(t *testing.T, cfg httpapi.Config) (*env, *lateHandler) {
	t.Helper()
	late := &lateHandler{}
	late.gets.Add(1)
	cfg.MCP = late
	e := newEnv(t, envOptions{cfg: cfg})
	srv, err := mcpserver.New(mcpserver.Config{Runner: e.router, Planner: splitPlanner{}, Models: e.reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	h := srv.Handler()
	late.h.Store(&h)
	return e, late
}

// bearer adds an API key to every request of an MCP client.
type bearer struct{ key string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.key)
	return http.DefaultTransport.RoundTrip(r)
}

func mcpClient(t *testing.T, url, key string) (*mcp.ClientSession, error) {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "v0"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tr := &mcp.StreamableClientTransport{Endpoint: url + "/mcp", HTTPClient: &http.Client{Transport: bearer{key}}, MaxRetries: -1}
	cs, err := c.Connect(ctx, tr, nil)
	if err == nil {
		t.Cleanup(func() { _ = cs.Close() })
	}
	return cs, err
}

// TestMCPBehindKeys: /mcp takes the API keys as every /v1 route does,
// from MCP clients that send "Authorization: Bearer", and a session
// runs requests through the router.
func TestMCPBehindKeys(t *testing.T) {
	e, _ := newMCPEnv(t, httpapi.Config{APIKeys: []string{"ops:sk-mcp"}})
	wantError(t, e.do("POST", "/mcp", "", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`), 401, "missing_api_key")
	wantError(t, e.do("POST", "/mcp", "sk-wrong", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`), 401, "invalid_api_key")
	if _, err := mcpClient(t, e.url, "sk-wrong"); err == nil {
		t.Error("an MCP client with a wrong key connected")
	}
	cs, err := mcpClient(t, e.url, "sk-mcp")
	if err != nil {
		t.Fatalf("connecting with the key: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "ask", Arguments: map[string]any{"input": "one and two", "model": "gpt-test"}})
	if err != nil || res.IsError {
		t.Fatalf("ask: %v %+v", err, res)
	}
	if got := res.Content[0].(*mcp.TextContent).Text; got != reply {
		t.Errorf("ask answered %q, want the model's %q", got, reply)
	}
}

// TestMCPRateLimited: every message to /mcp takes a token of its key.
func TestMCPRateLimited(t *testing.T) {
	mem, err := ratelimit.NewMemory(ratelimit.Limit{Rate: 0.001, Burst: 1})
	if err != nil {
		t.Fatal(err)
	}
	lim := &countingLimiter{Limiter: mem}
	e, _ := newMCPEnv(t, httpapi.Config{APIKeys: []string{"sk-mcp"}, Limiter: lim})
	if _, err := mcpClient(t, e.url, "sk-mcp"); err == nil {
		t.Fatal("a session of several messages fit a burst of 1")
	}
	resp := e.do("POST", "/mcp", "sk-mcp", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`)
	wantError(t, resp, 429, "rate_limit_exceeded")
	if resp.Header.Get("Retry-After") == "" || lim.taken.Load() < 2 {
		t.Errorf("Retry-After %q, tokens taken %d", resp.Header.Get("Retry-After"), lim.taken.Load())
	}
}

// TestMCPShutdownEndsSessionStreams: a session's GET stream, which an MCP
// client keeps open for as long as the session lasts, ends when the
// server shuts down instead of holding the shutdown until its deadline.
func TestMCPShutdownEndsSessionStreams(t *testing.T) {
	e, late := newMCPEnv(t, httpapi.Config{})
	if _, err := mcpClient(t, e.url, ""); err != nil {
		t.Fatal(err)
	}
	late.gets.Wait() // the client opened its stream
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Errorf("shutdown with a session's stream open: %v", err)
	}
}

// TestMCPCORS: browser-based MCP clients get CORS on /mcp, and may read
// the session id they must send back.
func TestMCPCORS(t *testing.T) {
	e, _ := newMCPEnv(t, httpapi.Config{CORS: httpapi.CORS{AllowedOrigins: []string{"http://localhost:*"}}})
	resp := e.preflight("/mcp", "http://localhost:6274", "POST")
	if resp.Header.Get("Access-Control-Allow-Origin") != "http://localhost:6274" {
		t.Errorf("preflight on /mcp: %v", resp.Header)
	}
	resp = e.send("POST", "/mcp", http.Header{"Origin": {"http://localhost:6274"}, "Content-Type": {"application/json"},
		"Accept": {"application/json, text/event-stream"}},
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`)
	if resp.StatusCode != 200 || resp.Header.Get("Mcp-Session-Id") == "" ||
		!strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "Mcp-Session-Id") {
		t.Errorf("initialize from a page: %d %v", resp.StatusCode, resp.Header)
	}
}
