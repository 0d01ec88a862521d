package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The tests' own MCP server, written with the Go SDK: the test binary
// runs it over stdio when started with testServerEnv set, and the tests
// serve it over streamable HTTP on loopback.
const testServerEnv = "TR_MCP_TEST_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(testServerEnv) == "stdio" {
		s := newTestServer(&serverState{}, func() { os.Exit(3) })
		if err := s.Run(context.Background(), &mcp.StdioTransport{}); err != nil {
			fmt.Fprintln(os.Stderr, "test server:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serverState is what the test server saw: calls of the hanging tool that
// were cancelled. When reported is set, the slow tool takes its next step
// only once the client has reported the last one (or after 5 s): a
// notification is handled apart from the call's result, so without that
// a busy machine may finish the call before the last report is read.
type serverState struct {
	mu        sync.Mutex
	cancelled int
	reported  chan struct{}
}

func (s *serverState) Cancelled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cancelled
}

type addIn struct {
	A int `json:"a" jsonschema:"the first number"`
	B int `json:"b" jsonschema:"the second number"`
}

type noIn struct{}

// newTestServer has one tool of each behaviour the client must handle:
// add (typed arguments), pid, hang (never answers), crash (the server
// dies), fail (an isError result), slow (sends progress), broken (an
// invalid input schema) and weather (structured content).
func newTestServer(st *serverState, crash func()) *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "tr-test", Version: "1"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "add", Description: "Adds two integers a and b"},
		func(ctx context.Context, req *mcp.CallToolRequest, in addIn) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: strconv.Itoa(in.A + in.B)}}}, nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "pid", Description: "Tells the server's process id"},
		func(ctx context.Context, req *mcp.CallToolRequest, in noIn) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: strconv.Itoa(os.Getpid())}}}, nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "hang", Description: "Never answers"},
		func(ctx context.Context, req *mcp.CallToolRequest, in noIn) (*mcp.CallToolResult, any, error) {
			<-ctx.Done()
			st.mu.Lock()
			st.cancelled++
			st.mu.Unlock()
			return nil, nil, ctx.Err()
		})
	mcp.AddTool(s, &mcp.Tool{Name: "crash", Description: "Crashes the server"},
		func(ctx context.Context, req *mcp.CallToolRequest, in noIn) (*mcp.CallToolResult, any, error) {
			crash()
			<-ctx.Done()
			return nil, nil, ctx.Err()
		})
	mcp.AddTool(s, &mcp.Tool{Name: "fail", Description: "Always fails"},
		func(ctx context.Context, req *mcp.CallToolRequest, in noIn) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: "the disk is full"}}}, nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "slow", Description: "Works in three steps, reporting each"},
		func(ctx context.Context, req *mcp.CallToolRequest, in noIn) (*mcp.CallToolResult, any, error) {
			for i := 1; i <= 3; i++ {
				if tok := req.Params.GetProgressToken(); tok != nil {
					_ = req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: tok, Progress: float64(i), Total: 3, Message: "step " + strconv.Itoa(i)})
				}
				if st.reported == nil {
					time.Sleep(50 * time.Millisecond) // a step's work
					continue
				}
				select {
				case <-st.reported:
				case <-time.After(5 * time.Second):
				case <-ctx.Done():
				}
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "done in 3 steps"}}}, nil, nil
		})
	s.AddTool(&mcp.Tool{Name: "broken", Description: "Has an invalid schema",
		InputSchema: json.RawMessage(`{"type": "object", "properties": {"n": {"type": "nummber"}}}`)},
		func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "called"}}}, nil
		})
	type weather struct {
		City  string  `json:"city"`
		TempC float64 `json:"temp_c"`
	}
	mcp.AddTool(s, &mcp.Tool{Name: "weather", Description: "Tells the weather of a city"},
		func(ctx context.Context, req *mcp.CallToolRequest, in struct {
			City string `json:"city"`
		}) (*mcp.CallToolResult, weather, error) {
			return nil, weather{City: in.City, TempC: 21.5}, nil
		})
	return s
}

// httpServer serves the test server over streamable HTTP on loopback.
// Its crash tool takes the whole HTTP server down; restart serves again
// on the same address, as a supervisor would restart a crashed service.
type httpServer struct {
	t     *testing.T
	st    *serverState
	addr  string
	mu    sync.Mutex
	srv   *http.Server
	mcp   *mcp.Server
	downs chan struct{}
}

func startHTTPServer(t *testing.T) *httpServer {
	h := &httpServer{t: t, st: &serverState{}, downs: make(chan struct{}, 10)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = ln.Addr().String()
	h.serve(ln)
	t.Cleanup(func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		_ = h.srv.Close()
	})
	return h
}

func (h *httpServer) URL() string { return "http://" + h.addr + "/mcp" }

func (h *httpServer) serve(ln net.Listener) {
	s := newTestServer(h.st, h.crash)
	handler := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil)
	srv := &http.Server{Handler: handler}
	h.mu.Lock()
	h.srv, h.mcp = srv, s
	h.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// crash closes the listener and every connection at once, in the middle
// of the call that asked for it.
func (h *httpServer) crash() {
	h.mu.Lock()
	srv := h.srv
	h.mu.Unlock()
	_ = srv.Close()
	h.downs <- struct{}{}
}

// restart serves again on the same address.
func (h *httpServer) restart() {
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", h.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		h.t.Fatalf("listening on %s again: %v", h.addr, err)
	}
	h.serve(ln)
}
