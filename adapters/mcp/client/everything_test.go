package client_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/taskrouter/taskrouter/adapters/mcp/client"
	"github.com/taskrouter/taskrouter/task"
)

// everythingDir holds the reference MCP server that no one here wrote,
// npm's @modelcontextprotocol/server-everything, pinned by its
// package-lock.json.
const everythingDir = "testdata/node"

// EverythingCommand installs server-everything with npm ci when the
// pinned version is not installed yet, and returns the command that runs
// it over stdio. It fails, never skips, when node or npm is missing or
// the registry cannot be reached: CI must run these tests.
func everythingCommand(t *testing.T) []string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed; install Node.js 20 or later (these tests run the reference MCP server, server-everything)")
	}
	dir, _ := filepath.Abs(everythingDir)
	var lock struct {
		Packages map[string]struct{ Version string } `json:"packages"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil || json.Unmarshal(data, &lock) != nil {
		t.Fatalf("reading %s/package-lock.json: %v", dir, err)
	}
	pkg := "node_modules/@modelcontextprotocol/server-everything"
	var installed struct{ Version string }
	data, err = os.ReadFile(filepath.Join(dir, pkg, "package.json"))
	if err != nil || json.Unmarshal(data, &installed) != nil || installed.Version != lock.Packages[pkg].Version {
		npmCI(t, dir)
	}
	return []string{node, filepath.Join(dir, pkg, "dist", "index.js"), "stdio"}
}

var npmOnce sync.Mutex

func npmCI(t *testing.T, dir string) {
	npmOnce.Lock()
	defer npmOnce.Unlock()
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatal("npm is not installed; it installs server-everything for these tests")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s failed (is the npm registry reachable?): %v\n%s", dir, err, out)
	}
}

func startEverything(t *testing.T) *client.Client {
	t.Helper()
	env := append(client.BaseEnv(os.Getenv), "EVERYTHING_TEST_SETTING=on")
	c, _ := startClient(t, client.Config{Name: "everything", Command: everythingCommand(t), Env: env})
	return c
}

func TestEverythingOverStdio(t *testing.T) {
	t.Setenv("TR_TEST_SECRET", "must-not-reach-the-server")
	c := startEverything(t)
	spec := c.Spec()
	for _, want := range []string{"everything-echo", "everything-get-sum", "everything-trigger-long-running-operation"} {
		if !spec.Has(want) {
			t.Fatalf("capabilities %v lack %s", spec.Capabilities, want)
		}
	}
	out, err := call(c, "everything-echo", "hello", nil)
	if err != nil || out.Text != "Echo: hello" {
		t.Fatalf("echo = %q, %v", out.Text, err)
	}
	out, err = call(c, "everything-get-sum", "17", map[string]string{"b": " 25 "})
	if err != nil || !strings.Contains(out.Text, "42") {
		t.Fatalf("get-sum(17, 25) = %q, %v", out.Text, err)
	}
	_, err = call(c, "everything-get-sum", "", map[string]string{"a": "17"})
	wantCode(t, err, task.CodeInvalidArgs, `missing required parameter "b"`)
	_, err = call(c, "everything-get-sum", "", map[string]string{"a": "seventeen", "b": "1"})
	wantCode(t, err, task.CodeInvalidArgs, `parameter "a"`, "not a number")
	_, err = call(c, "everything-get-annotated-message", "", map[string]string{"messageType": "loud"})
	wantCode(t, err, task.CodeInvalidArgs, `parameter "messageType"`)

	// The server gets its configured variables and the base ones, not
	// the executor's others.
	out, err = call(c, "everything-get-env", "", nil)
	if err != nil || !strings.Contains(out.Text, "EVERYTHING_TEST_SETTING") || !strings.Contains(out.Text, "PATH") {
		t.Fatalf("get-env = %q, %v", out.Text, err)
	}
	if strings.Contains(out.Text, "TR_TEST_SECRET") {
		t.Fatal("the executor's environment reached the MCP server")
	}
}

func TestEverythingProgress(t *testing.T) {
	c := startEverything(t)
	var mu sync.Mutex
	var got []task.Progress
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := c.GenerateReporting(ctx, task.Work{Capability: "everything-trigger-long-running-operation",
		Args: map[string]string{"duration": "1", "steps": "3"}}, func(p task.Progress) {
		mu.Lock()
		got = append(got, p)
		mu.Unlock()
	})
	if err != nil || !strings.Contains(out.Text, "Steps: 3") {
		t.Fatalf("long operation = %q, %v", out.Text, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) < 2 || got[0].Total != 3 {
		t.Fatalf("progress %+v, want reports of 3 steps", got)
	}
}

// A tool the server adds while it runs becomes a capability, and the
// executor hears of the new spec through Watch.
func TestToolListChanged(t *testing.T) {
	h := startHTTPServer(t)
	c, _ := startClient(t, client.Config{Name: "gotest", URL: h.URL()})
	specs := make(chan task.ModelSpec, 4)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Watch(ctx, func(s task.ModelSpec) { specs <- s })
	time.Sleep(50 * time.Millisecond) // Watch has read the spec it compares with
	h.mu.Lock()
	srv := h.mcp
	h.mu.Unlock()
	mcp.AddTool(srv, &mcp.Tool{Name: "greet.person", Description: "Greets a person by name"},
		func(ctx context.Context, req *mcp.CallToolRequest, in struct {
			Name string `json:"name"`
		}) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "Hello, " + in.Name}}}, nil, nil
		})
	select {
	case s := <-specs:
		if !s.Has("gotest-greet-person") {
			t.Fatalf("the new spec lacks the new tool: %v", s.Capabilities)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no new spec after the server's tool list changed")
	}
	out, err := call(c, "gotest-greet-person", "Ana", nil)
	if err != nil || out.Text != "Hello, Ana" {
		t.Fatalf("greet = %q, %v", out.Text, err)
	}
}
