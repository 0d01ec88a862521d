package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// startMCP runs `taskrouter mcp args...` in this process, its standard
// input and output piped to a Go SDK client, which it returns. The
// command must end with exit 0 when the client closes.
func startMCP(t *testing.T, getenv func(string) string, onProgress func(*mcp.ProgressNotificationParams), args ...string) *mcp.ClientSession {
	t.Helper()
	clientR, serverW := io.Pipe()
	serverR, clientW := io.Pipe()
	stderr := &syncBuffer{}
	env := &cliEnv{stdin: serverR, stdout: serverW, stderr: stderr, getenv: getenv}
	code := make(chan int, 1)
	go func() {
		code <- run(context.Background(), append([]string{"mcp"}, args...), env)
		_ = serverW.Close()
	}()
	opts := &mcp.ClientOptions{ProgressNotificationHandler: func(_ context.Context, r *mcp.ProgressNotificationClientRequest) {
		if onProgress != nil {
			onProgress(r.Params)
		}
	}}
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "v0"}, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs, err := c.Connect(ctx, &mcp.IOTransport{Reader: clientR, Writer: clientW}, nil)
	if err != nil {
		t.Fatalf("connecting to taskrouter mcp: %v\n%s", err, stderr.String())
	}
	t.Cleanup(func() {
		_ = cs.Close()
		select {
		case c := <-code:
			if c != exitOK {
				t.Errorf("taskrouter mcp exited %d when its client left:\n%s", c, stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Errorf("taskrouter mcp did not stop when its client left:\n%s", stderr.String())
		}
	})
	return cs
}

func toolText(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args, Meta: mcp.Meta{"progressToken": name}})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n"), res.IsError
}

// TestMCPJoinsRunningRouter: `taskrouter mcp --nats URL` sends ask to a
// router on that NATS, with its progress; plan runs the config's planner
// here; models says what it needs without a shared registry.
func TestMCPJoinsRunningRouter(t *testing.T) {
	a := startServeConfig(t, "nats:\n  listen: 127.0.0.1:0\nhttp:\n  addr: \"\"\n", func(string) string { return "" })
	progress := make(chan string, 16)
	cs := startMCP(t, func(string) string { return "" }, func(p *mcp.ProgressNotificationParams) { progress <- p.Message },
		"--nats", a.bus.ClientURL())
	if text, isErr := toolText(t, cs, "ask", map[string]any{"input": "What is 17 * 23 + 4?"}); isErr || !strings.Contains(text, "395") {
		t.Errorf("ask over NATS answered %q (error %v)", text, isErr)
	}
	var msgs []string
	for len(msgs) < 4 {
		select {
		case m := <-progress:
			msgs = append(msgs, m)
		case <-time.After(10 * time.Second):
			t.Fatalf("progress notifications %q, want 4", msgs)
		}
	}
	if !strings.HasPrefix(msgs[0], "planned 1 subtask: t1 calc") || !strings.HasPrefix(msgs[1], "t1 calc running on local/calc") {
		t.Errorf("progress = %q", msgs)
	}
	if text, isErr := toolText(t, cs, "plan", map[string]any{"input": "What is 2^10?"}); isErr || !strings.Contains(text, `"capability": "calc"`) {
		t.Errorf("plan = %q (error %v)", text, isErr)
	}
	if text, isErr := toolText(t, cs, "models", nil); !isErr || !strings.Contains(text, "--redis URL") {
		t.Errorf("models without a shared registry = %q (error %v)", text, isErr)
	}
}

// TestMCPFlags: mistakes in how mcp is started are usage errors.
func TestMCPFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"What is 2+2?"}, "mcp takes no arguments"},
		{[]string{"--redis", "redis://127.0.0.1:6379/0"}, "--redis goes with --nats"},
	} {
		var stderr strings.Builder
		env := &cliEnv{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr, getenv: func(string) string { return "" }}
		if code := run(context.Background(), append([]string{"mcp"}, c.args...), env); code != exitUsage || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("mcp %v: exit %d, %q; want exit 2 saying %q", c.args, code, stderr.String(), c.want)
		}
	}
}
