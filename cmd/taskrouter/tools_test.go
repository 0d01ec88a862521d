package main

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

	"github.com/taskrouter/taskrouter/task"
)

// everythingDir is where the MCP client's tests pin npm's reference
// server, server-everything.
const everythingDir = "../../adapters/mcp/client/testdata/node"

var everythingOnce sync.Mutex

// everythingConfig writes a config whose one tool server is
// server-everything over stdio, installing it with npm ci when needed.
func everythingConfig(t *testing.T, extra string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed; install Node.js 20 or later (this test runs the reference MCP server)")
	}
	dir, _ := filepath.Abs(everythingDir)
	pkg := filepath.Join(dir, "node_modules", "@modelcontextprotocol", "server-everything")
	everythingOnce.Lock()
	if _, err := os.Stat(filepath.Join(pkg, "dist", "index.js")); err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			everythingOnce.Unlock()
			t.Fatalf("npm ci in %s failed (is the npm registry reachable?): %v\n%s", dir, err, out)
		}
	}
	everythingOnce.Unlock()
	cfg := "tools:\n  - name: everything\n    command: [" + node + ", " + filepath.Join(pkg, "dist", "index.js") + ", stdio]\n" + extra
	path := filepath.Join(t.TempDir(), "tools.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The end to end: a request planned by the rules planner onto a
// tool of a server no one here wrote, run through an executor over NATS.
func TestAskEchoThroughServerEverything(t *testing.T) {
	cfg := everythingConfig(t, "")
	code, out, errOut := runCLI(t, context.Background(), "ask", "--json", "--config", cfg, "Echo back this string: hello")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var resp task.Response
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatalf("stdout is not a Response: %v\n%s", err, out)
	}
	if resp.Answer != "Echo: hello" || len(resp.Subtasks) != 1 {
		t.Fatalf("answer %q, subtasks %+v", resp.Answer, resp.Subtasks)
	}
	st := resp.Subtasks[0]
	if st.Capability != "everything-echo" || st.Model != "mcp/everything" || st.Executor == "" || st.Status != task.StatusDone {
		t.Fatalf("subtask %+v", st)
	}
}

func TestAskPlanFileWithTools(t *testing.T) {
	cfg := everythingConfig(t, "")
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	_ = os.WriteFile(good, []byte(`{"tasks": [
		{"id": "t1", "capability": "everything-get-sum", "input": "17", "args": {"b": "25"}, "deps": []},
		{"id": "t2", "capability": "everything-echo", "input": "{{t1}}", "deps": ["t1"]}]}`), 0o600)
	code, out, errOut := runCLI(t, context.Background(), "ask", "--config", cfg, "--plan", good)
	if code != exitOK || !strings.Contains(out, "Echo: The sum of 17 and 25 is 42") {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, out, errOut)
	}
	bad := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(bad, []byte(`{"tasks": [{"id": "t1", "capability": "everything-get-sum", "input": "", "args": {"a": "x"}, "deps": []}]}`), 0o600)
	code, _, errOut = runCLI(t, context.Background(), "ask", "--quiet", "--config", cfg, "--plan", bad)
	if code != exitFailed || !strings.Contains(errOut, "invalid_args") || !strings.Contains(errOut, `parameter "a": "x" is not a number`) {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	malformed := filepath.Join(dir, "malformed.json")
	_ = os.WriteFile(malformed, []byte(`{"tasks": [{"id": "t1", "capabilty": "x"}]}`), 0o600)
	code, _, errOut = runCLI(t, context.Background(), "ask", "--config", cfg, "--plan", malformed)
	if code != exitUsage || !strings.Contains(errOut, "capabilty") {
		t.Fatalf("a malformed plan file: exit %d, stderr:\n%s", code, errOut)
	}
}

func TestCapabilitiesListTools(t *testing.T) {
	cfg := everythingConfig(t, "")
	code, out, errOut := runCLI(t, context.Background(), "capabilities", "--json", "--config", cfg)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var caps []task.Capability
	if err := json.Unmarshal([]byte(out), &caps); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range caps {
		if c.Name == "everything-get-sum" {
			found = strings.Contains(string(c.InputSchema), `"required"`) && c.Description == "Returns the sum of two numbers"
		}
	}
	if !found {
		t.Fatalf("everything-get-sum missing or without its schema in %s", out)
	}
}

func TestToolsConfigErrors(t *testing.T) {
	for _, c := range []struct{ yaml, says string }{
		{"tools:\n  - name: Bad Name\n    command: [x]\n", "lowercase letters"},
		{"tools:\n  - name: a\n", "give command"},
		{"tools:\n  - name: a\n    command: [x]\n    url: http://127.0.0.1:1/mcp\n", "not both"},
		{"tools:\n  - name: a\n    url: ftp://x\n", "http(s) URL"},
		{"tools:\n  - name: a\n    command: [x]\n  - name: a\n    command: [y]\n", "used twice"},
		{"tools:\n  - name: a\n    command: [x]\n    headers: {A: b}\n", "headers are for an HTTP server"},
		{"tools:\n  - name: a\n    comand: [x]\n", "did you mean tools[0].command"},
	} {
		path := filepath.Join(t.TempDir(), "c.yaml")
		_ = os.WriteFile(path, []byte(c.yaml), 0o600)
		code, _, errOut := runCLI(t, context.Background(), "capabilities", "--config", path)
		if code != exitUsage || !strings.Contains(errOut, c.says) {
			t.Errorf("%q: exit %d, stderr %q, want it to say %q", c.yaml, code, errOut, c.says)
		}
	}
	path := filepath.Join(t.TempDir(), "c.yaml")
	_ = os.WriteFile(path, []byte("tools:\n  - name: gh\n    url: http://127.0.0.1:1/mcp\n    headers: {Authorization: \"Bearer ${TR_TEST_UNSET_TOKEN}\"}\n"), 0o600)
	code, _, errOut := runCLI(t, context.Background(), "capabilities", "--config", path)
	if code != exitUsage || !strings.Contains(errOut, "${TR_TEST_UNSET_TOKEN}, which is unset") {
		t.Errorf("an unset variable: exit %d, stderr %q", code, errOut)
	}
}

// A router with no tools of its own plans and runs a tool that an
// executor process on another machine serves: the executor announces the
// tools in the registry, the router's catalog merges them.
func TestDistributedToolExecutor(t *testing.T) {
	c := newCluster(t, redisDB(t))
	cfg := everythingConfig(t, "")
	c.router("router-1", "")
	p := startProc(t, "tools-1", c.bin, "executor", "--config", cfg, "--nats", c.natsURL, "--redis", c.redisURL, "--tools", "everything")
	p.waitOutput(t, "serving [mcp/everything]", 30*time.Second)
	c.waitReplicas(map[string]int{"mcp/everything": 1}, 10*time.Second)
	var resp task.Response
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		resp, err = c.ask(task.Request{Input: "Echo back this string: hello"})
		if err == nil && resp.Answer == "Echo: hello" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the router never answered through the tool executor: %+v, %v", resp, err)
		}
		time.Sleep(200 * time.Millisecond) // the router's snapshot lags the registry
	}
	if st := resp.Subtasks[0]; st.Model != "mcp/everything" || !strings.Contains(st.Executor, p.idMark()) {
		t.Fatalf("subtask %+v was not served by the tool executor", st)
	}
}
