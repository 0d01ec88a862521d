package client_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/adapters/mcp/client"
	"github.com/taskrouter/taskrouter/task"
)

// syncBuffer is a log destination tests read while the client writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startClient(t *testing.T, cfg client.Config) (*client.Client, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, logs
}

func call(c *client.Client, capability, input string, args map[string]string) (task.Output, *task.Error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := c.Generate(ctx, task.Work{Capability: capability, Input: input, Args: args}, nil)
	return out, task.AsError(err)
}

func wantCode(t *testing.T, err *task.Error, code task.Code, mentions ...string) {
	t.Helper()
	if err == nil || err.Code != code {
		t.Fatalf("got error %v, want code %s", err, code)
	}
	for _, m := range mentions {
		if !strings.Contains(err.Message, m) {
			t.Errorf("error %q does not mention %q", err.Message, m)
		}
	}
}

func TestHTTPServerTools(t *testing.T) {
	h := startHTTPServer(t)
	c, logs := startClient(t, client.Config{Name: "gotest", URL: h.URL()})
	spec := c.Spec()
	if spec.Name != "mcp/gotest" || spec.Backend != task.BackendMCP {
		t.Fatalf("spec %+v", spec)
	}
	want := []string{"gotest-add", "gotest-crash", "gotest-fail", "gotest-hang", "gotest-pid", "gotest-slow", "gotest-weather"}
	got := slices.Clone(spec.Capabilities)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("capabilities %v, want %v (broken left out)", got, want)
	}
	if !strings.Contains(logs.String(), `broken`) || !strings.Contains(logs.String(), "invalid input schema") {
		t.Errorf("no warning names the tool with an invalid schema:\n%s", logs)
	}
	for _, def := range spec.Defines {
		if def.Name == "gotest-add" && (!strings.Contains(string(def.InputSchema), `"a"`) || def.Description != "Adds two integers a and b") {
			t.Errorf("add is defined as %+v", def)
		}
	}

	out, err := call(c, "gotest-add", "17", map[string]string{"b": "25"})
	if err != nil || out.Text != "42" {
		t.Fatalf("add(17, 25) = %q, %v", out.Text, err)
	}
	out, err = call(c, "gotest-add", `{"a": 2, "b": 3}`, nil)
	if err != nil || out.Text != "5" {
		t.Fatalf("add from a JSON input = %q, %v", out.Text, err)
	}
	_, err = call(c, "gotest-add", "", map[string]string{"a": "1"})
	wantCode(t, err, task.CodeInvalidArgs, `missing required parameter "b"`, "a (integer, required), b (integer, required)")
	_, err = call(c, "gotest-add", "", map[string]string{"a": "one", "b": "2"})
	wantCode(t, err, task.CodeInvalidArgs, `parameter "a"`, `"one" is not a integer`)
	_, err = call(c, "gotest-add", "", map[string]string{"a": "1.5", "b": "2"})
	wantCode(t, err, task.CodeInvalidArgs, `parameter "a"`)

	out, err = call(c, "gotest-weather", "Paris", nil)
	if err != nil || out.Format != "json" || out.Text != `{"city":"Paris","temp_c":21.5}` {
		t.Fatalf("weather = %+v, %v", out, err)
	}
	_, err = call(c, "gotest-fail", "", nil)
	wantCode(t, err, task.CodeToolError, "the disk is full")
	_, err = call(c, "gotest-nothing", "", nil)
	wantCode(t, err, task.CodeNotFound)
}

func TestProgressReports(t *testing.T) {
	h := startHTTPServer(t)
	h.st.reported = make(chan struct{}, 3)
	c, _ := startClient(t, client.Config{Name: "gotest", URL: h.URL()})
	var mu sync.Mutex
	var got []task.Progress
	out, err := c.GenerateReporting(context.Background(), task.Work{Capability: "gotest-slow"}, func(p task.Progress) {
		mu.Lock()
		got = append(got, p)
		mu.Unlock()
		h.st.reported <- struct{}{}
	})
	if err != nil || out.Text != "done in 3 steps" {
		t.Fatalf("slow = %q, %v", out.Text, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 || got[2] != (task.Progress{Done: 3, Total: 3, Message: "step 3"}) {
		t.Fatalf("progress %+v, want 3 reports ending 3/3 step 3", got)
	}
}

// A call that hangs is cancelled at the call timeout, on the server too,
// and the server serves the next call.
func TestHangingCallTimesOut(t *testing.T) {
	h := startHTTPServer(t)
	c, _ := startClient(t, client.Config{Name: "gotest", URL: h.URL(), CallTimeout: 300 * time.Millisecond})
	_, err := call(c, "gotest-hang", "", nil)
	wantCode(t, err, task.CodeToolTimeout, "gotest-hang", "300ms")
	if !err.Retryable {
		t.Error("tool_timeout is not retryable")
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.st.Cancelled() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if h.st.Cancelled() != 1 {
		t.Error("the server never saw the call cancelled")
	}
	if out, err := call(c, "gotest-add", "1", map[string]string{"b": "1"}); err != nil || out.Text != "2" {
		t.Fatalf("after the timeout, add = %q, %v", out.Text, err)
	}
}

// Cancelling the caller's context cancels the call on the server.
func TestCancelSendsCancellation(t *testing.T) {
	h := startHTTPServer(t)
	c, _ := startClient(t, client.Config{Name: "gotest", URL: h.URL()})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	_, err := c.Generate(ctx, task.Work{Capability: "gotest-hang"}, nil)
	wantCode(t, task.AsError(err), task.CodeCancelled)
	deadline := time.Now().Add(5 * time.Second)
	for h.st.Cancelled() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if h.st.Cancelled() != 1 {
		t.Error("the server never saw the call cancelled")
	}
}

// An HTTP server that goes down mid-call fails the call with
// tool_failed, and the client opens a new session once it is back.
func TestHTTPServerCrashReconnects(t *testing.T) {
	h := startHTTPServer(t)
	c, _ := startClient(t, client.Config{Name: "gotest", URL: h.URL(), MinBackoff: 20 * time.Millisecond, CallTimeout: 5 * time.Second})
	_, err := call(c, "gotest-crash", "", nil)
	wantCode(t, err, task.CodeToolFailed, "gotest-crash", "started again")
	<-h.downs
	h.restart()
	if out, err := call(c, "gotest-add", "20", map[string]string{"b": "22"}); err != nil || out.Text != "42" {
		t.Fatalf("after the crash, add = %q, %v", out.Text, err)
	}
}

// A stdio server that dies mid-call fails the call with tool_failed and
// is started again: the next call runs in a new process.
func TestStdioServerCrashRestarts(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	env := append(client.BaseEnv(os.Getenv), "TR_MCP_TEST_SERVER=stdio")
	c, logs := startClient(t, client.Config{Name: "gostdio", Command: []string{self}, Env: env, MinBackoff: 20 * time.Millisecond})
	before, perr := call(c, "gostdio-pid", "", nil)
	if perr != nil {
		t.Fatal(perr)
	}
	_, cerr := call(c, "gostdio-crash", "", nil)
	wantCode(t, cerr, task.CodeToolFailed, "gostdio-crash", "started again")
	after, perr := call(c, "gostdio-pid", "", nil)
	if perr != nil {
		t.Fatalf("after the crash: %v", perr)
	}
	if after.Text == before.Text {
		t.Fatalf("the server runs in the same process %s after it crashed", after.Text)
	}
	if !strings.Contains(logs.String(), "MCP server stopped") || !strings.Contains(logs.String(), "MCP server is back") {
		t.Errorf("the restart is not logged:\n%s", logs)
	}
}

func TestStartFailsClearly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := client.Start(ctx, client.Config{Name: "nothing", Command: []string{"/nonexistent/mcp-server"}})
	if err == nil || !strings.Contains(err.Error(), "nothing") {
		t.Fatalf("starting a missing command: %v", err)
	}
	var te *task.Error
	if errors.As(err, &te) {
		t.Fatalf("a start error is a plain error, got %v", te)
	}
}
