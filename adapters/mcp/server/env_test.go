package server_test

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/nats-io/nats.go"

	mcpserver "github.com/taskrouter/taskrouter/adapters/mcp/server"
	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/localmodel"
	"github.com/taskrouter/taskrouter/planner"
	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/task"
)

// env is the real pipeline behind the MCP server: an embedded NATS
// server, the memory registry, an executor serving the built-in local
// models and a slow code model, the router with the auto planner.
type env struct {
	t      *testing.T
	router *router.Router
	server *mcpserver.Server
	// started and cancelled receive the subtask id of every subtask of
	// the slow model as it starts, and as it is cancelled while it works.
	started, cancelled chan string
}

// slowModel answers "<input>, slowly" after a minute, or stops when its
// subtask is cancelled.
type slowModel struct{ started, cancelled chan<- string }

func (m slowModel) Generate(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
	m.started <- w.SubtaskID
	select {
	case <-time.After(time.Minute):
		return task.Output{Text: w.Input + ", slowly"}, nil
	case <-ctx.Done():
		m.cancelled <- w.SubtaskID
		return task.Output{}, ctx.Err()
	}
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	b, err := bus.Start(ctx, bus.Config{Name: t.Name()})
	if err != nil {
		t.Fatalf("starting NATS: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	e := &env{t: t, started: make(chan string, 8), cancelled: make(chan string, 8)}
	reg := registry.NewMemory()
	// Code, not chat: a chat model would write the merged answers.
	served := []executors.Served{{Spec: task.ModelSpec{Name: "test/slow", Backend: task.BackendLocal, Capabilities: []string{"code"},
		Concurrency: 4, ContextWindow: 8192, Price: task.Price{InputPerMTok: 1, OutputPerMTok: 2}}, Model: slowModel{e.started, e.cancelled}}}
	for _, bi := range localmodel.Builtins() {
		served = append(served, executors.Served{Spec: bi.Spec, Model: bi.New()})
	}
	ex, err := executors.Start(ctx, connect(t, b, "executor"), executors.Config{ID: "x-" + t.Name(), Models: served, Announcer: reg,
		Heartbeat: 200 * time.Millisecond, KeepAlive: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ex.Stop)
	cat := task.BuiltinCatalog()
	pl, err := planner.New("auto", cat)
	if err != nil {
		t.Fatal(err)
	}
	e.router, err = router.New(connect(t, b, "router"), reg, pl, router.Config{Catalog: cat, AcceptTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.router.Close() })
	e.server, err = mcpserver.New(mcpserver.Config{Runner: e.router, Planner: pl, Models: reg, Catalog: cat, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.server.Close)
	return e
}

func connect(t *testing.T, b *bus.Bus, name string) *nats.Conn {
	t.Helper()
	nc, err := b.Connect(name)
	if err != nil {
		t.Fatal(err)
	}
	return nc
}

// notes collects the progress notifications a client receives.
type notes struct {
	mu   sync.Mutex
	list []*mcp.ProgressNotificationParams
	// running is closed at the first notification that a subtask runs.
	running chan struct{}
	once    sync.Once
}

func newNotes() *notes { return &notes{running: make(chan struct{})} }

func (n *notes) add(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.list = append(n.list, req.Params)
	if strings.Contains(req.Params.Message, " running on ") {
		n.once.Do(func() { close(n.running) })
	}
}

// until waits until a notification's message starts with prefix: a
// client may handle notifications after the result that follows them.
func (n *notes) until(t *testing.T, prefix string) []*mcp.ProgressNotificationParams {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		list := n.all()
		for _, p := range list {
			if strings.HasPrefix(p.Message, prefix) {
				return list
			}
		}
	}
	t.Errorf("no progress notification starts with %q", prefix)
	return n.all()
}

func (n *notes) all() []*mcp.ProgressNotificationParams {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*mcp.ProgressNotificationParams(nil), n.list...)
}

// connectStdio connects a Go SDK client to the server over a pair of
// pipes, the way `taskrouter mcp` serves its standard input and output.
func (e *env) connectStdio(n *notes) *mcp.ClientSession {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	clientR, serverW := io.Pipe()
	serverR, clientW := io.Pipe()
	served := make(chan error, 1)
	go func() { served <- e.server.ServeStdio(ctx, serverR, serverW) }()
	cs := e.connectClient(&mcp.IOTransport{Reader: clientR, Writer: clientW}, n)
	e.t.Cleanup(func() {
		_ = cs.Close()
		cancel()
		if err := <-served; err != nil {
			e.t.Errorf("ServeStdio: %v", err)
		}
	})
	return cs
}

// connectHTTP connects a Go SDK client over streamable HTTP.
func (e *env) connectHTTP(n *notes) *mcp.ClientSession {
	e.t.Helper()
	srv := httptest.NewServer(e.server.Handler())
	e.t.Cleanup(srv.Close)
	cs := e.connectClient(&mcp.StreamableClientTransport{Endpoint: srv.URL, MaxRetries: -1}, n)
	e.t.Cleanup(func() { _ = cs.Close() })
	return cs
}

func (e *env) connectClient(t mcp.Transport, n *notes) *mcp.ClientSession {
	e.t.Helper()
	opts := &mcp.ClientOptions{}
	if n != nil {
		opts.ProgressNotificationHandler = n.add
	}
	c := mcp.NewClient(&mcp.Implementation{Name: "test-client", Version: "v0.0.1"}, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cs, err := c.Connect(ctx, t, nil)
	if err != nil {
		e.t.Fatalf("connecting the MCP client: %v", err)
	}
	return cs
}
