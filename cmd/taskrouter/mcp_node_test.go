package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/adapters/openaitest"
)

// mcpNodeDir holds the MCP client test: package.json pins the official
// MCP TypeScript SDK, package-lock.json its exact build, client.mjs the
// script.
const mcpNodeDir = "testdata/mcpnode"

// watchedUpstream is an OpenAI-compatible upstream whose model "slow"
// takes minutes, and which says when a chat request arrives and when its
// client goes away before the answer.
type watchedUpstream struct {
	url           string
	started, gone chan struct{}
}

func newWatchedUpstream(t *testing.T) *watchedUpstream {
	t.Helper()
	up := openaitest.New()
	t.Cleanup(up.Close)
	up.Script("slow", openaitest.Behaviour{Reply: "Once upon a time.", Latency: 5 * time.Minute})
	w := &watchedUpstream{started: make(chan struct{}, 8), gone: make(chan struct{}, 8)}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/chat/completions") {
			up.ServeHTTP(rw, r)
			return
		}
		w.started <- struct{}{}
		up.ServeHTTP(rw, r)
		if r.Context().Err() != nil {
			w.gone <- struct{}{}
		}
	}))
	t.Cleanup(srv.Close)
	w.url = srv.URL + "/v1"
	return w
}

// mcpReport is what client.mjs saw.
type mcpReport struct {
	NoKey *struct {
		Connected bool
		Message   string
	} `json:"no_key"`
	Server struct{ Name, Version string }
	Tools  []struct {
		Name, Title, Description string
		InputSchema              struct {
			Required   []string
			Properties map[string]any
		} `json:"input_schema"`
		HasOutputSchema bool `json:"has_output_schema"`
	}
	Ask struct {
		Text       string
		Structured struct {
			Answer   string
			Subtasks []struct{ Capability, Model, Status string }
		}
		IsError  bool `json:"is_error"`
		Progress []struct {
			Progress, Total float64
			Message         string
		}
	}
	Plan struct {
		Text       string
		Structured struct {
			Tasks []struct{ ID, Capability string }
		}
	}
	Models struct {
		Structured struct {
			Models []struct{ Name string }
		}
	}
	BadArgs struct {
		IsError bool `json:"is_error"`
		Text    string
	} `json:"bad_args"`
	UnknownTool struct {
		Thrown  bool
		Code    int
		Message string
	} `json:"unknown_tool"`
	Cancel struct {
		Rejected bool
		Message  string
		Progress []string
	}
	AfterCancel  string   `json:"after_cancel"`
	ClientErrors []string `json:"client_errors"`
}

// TestMCPNodeClient drives taskrouter's MCP server with the official MCP
// TypeScript SDK's client: over stdio against the built `taskrouter mcp`,
// and over streamable HTTP against `taskrouter serve` with an API key.
// It lists the tools, asks with progress, plans, lists models, sends bad
// arguments and an unknown tool, and cancels a call while the slow
// model's upstream works on it, which must see its request end.
func TestMCPNodeClient(t *testing.T) {
	skipShort(t)
	node := installNodePackage(t, mcpNodeDir, "@modelcontextprotocol/sdk")
	bin := taskrouterBinary(t)
	for _, mode := range []string{"stdio", "http"} {
		t.Run(mode, func(t *testing.T) {
			up := newWatchedUpstream(t)
			dir := t.TempDir()
			cfgPath := filepath.Join(dir, "taskrouter.yaml")
			cfg := fmt.Sprintf("http:\n  addr: 127.0.0.1:0\nmodels:\n  - name: slow\n    backend: openai\n    base_url: %s\n    capabilities: [code]\nlog:\n  level: warn\n", up.url)
			if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			vars := []string{"TR_MCP_COMMAND=" + bin, `TR_MCP_ARGS=["mcp","--config","` + cfgPath + `"]`}
			if mode == "http" {
				_, base := startServe(t, "serve", []string{envAPIKeys + "=ci:sk-mcp-test", "XDG_STATE_HOME=" + dir}, cfgPath)
				vars = []string{"TR_MCP_URL=" + base + "/mcp", "TR_MCP_KEY=sk-mcp-test"}
			}
			r := runMCPClient(t, node, vars, up)
			checkMCPReport(t, mode, r)
		})
	}
}

// runMCPClient runs client.mjs, tells it to cancel its long call once the
// upstream has it, and checks the upstream saw the request end.
func runMCPClient(t *testing.T, node string, vars []string, up *watchedUpstream) mcpReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "client.mjs")
	cmd.Dir = mcpNodeDir
	cmd.Env = append(os.Environ(), vars...)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Wait() }()
	lines := bufio.NewScanner(stdout)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	if !lines.Scan() || lines.Text() != "READY" {
		t.Fatalf("client.mjs did not get to the long call: %q\n%s", lines.Text(), stderr.String())
	}
	select {
	case <-up.started:
	case <-time.After(time.Minute):
		t.Fatalf("the slow model's upstream got no request\n%s", stderr.String())
	}
	fmt.Fprintln(stdin, "cancel")
	select {
	case <-up.gone:
	case <-time.After(time.Minute):
		t.Fatalf("cancelling the MCP call did not end the upstream request\n%s", stderr.String())
	}
	if !lines.Scan() {
		t.Fatalf("client.mjs printed no report: %v\n%s", lines.Err(), stderr.String())
	}
	t.Logf("report: %s", lines.Text())
	var r mcpReport
	if err := json.Unmarshal(lines.Bytes(), &r); err != nil {
		t.Fatalf("decoding the report: %v", err)
	}
	return r
}

func checkMCPReport(t *testing.T, mode string, r mcpReport) {
	t.Helper()
	if mode == "http" && (r.NoKey == nil || r.NoKey.Connected || !strings.Contains(r.NoKey.Message, "missing_api_key")) {
		t.Errorf("a client without the key: %+v", r.NoKey)
	}
	var names []string
	for _, tool := range r.Tools {
		names = append(names, tool.Name)
		if len(tool.Description) < 100 || tool.Title == "" || !tool.HasOutputSchema || len(tool.InputSchema.Properties) == 0 {
			t.Errorf("tool %+v lacks what guides a host", tool)
		}
		if tool.Name != "models" && !slices.Equal(tool.InputSchema.Required, []string{"input"}) {
			t.Errorf("tool %s requires %v, want input", tool.Name, tool.InputSchema.Required)
		}
	}
	if r.Server.Name != "taskrouter" || strings.Join(names, ",") != "ask,models,plan" {
		t.Errorf("server %+v, tools %v", r.Server, names)
	}
	a := r.Ask
	if a.IsError || !strings.Contains(a.Text, "395") || a.Structured.Answer != a.Text || len(a.Structured.Subtasks) != 1 ||
		a.Structured.Subtasks[0].Model != "local/calc" || a.Structured.Subtasks[0].Status != "done" {
		t.Errorf("ask = %+v, want 395 from local/calc", a)
	}
	want := []string{"planned 1 subtask: t1 calc", "t1 calc running on local/calc", "t1 calc done in ", "answer merged (single)"}
	if len(a.Progress) != len(want) {
		t.Fatalf("progress notifications %+v, want %q", a.Progress, want)
	}
	for i, p := range a.Progress {
		if !strings.HasPrefix(p.Message, want[i]) || p.Progress > p.Total || i > 0 && p.Progress <= a.Progress[i-1].Progress {
			t.Errorf("progress notification %d = %+v, want %q... with progress rising to its total", i, p, want[i])
		}
	}
	if last := a.Progress[len(a.Progress)-1]; last.Progress != last.Total {
		t.Errorf("the last notification %+v does not complete the call", last)
	}
	var caps []string
	for _, s := range r.Plan.Structured.Tasks {
		caps = append(caps, s.Capability)
	}
	if !slices.Contains(caps, "summarize") || !slices.Contains(caps, "keywords") || !json.Valid([]byte(r.Plan.Text)) {
		t.Errorf("plan = %+v", r.Plan)
	}
	if m := r.Models.Structured.Models; len(m) != 1 || m[0].Name != "local/calc" {
		t.Errorf("models offering calc = %+v", m)
	}
	if !r.BadArgs.IsError || !strings.Contains(r.BadArgs.Text, `ask has no parameter "inptu"; did you mean "input"?`) {
		t.Errorf("bad arguments = %+v", r.BadArgs)
	}
	if u := r.UnknownTool; !u.Thrown || u.Code != -32602 || !strings.Contains(u.Message, `unknown tool "translate"`) {
		t.Errorf("unknown tool = %+v", u)
	}
	if c := r.Cancel; !c.Rejected || !strings.Contains(c.Message, "the user changed their mind") ||
		!slices.ContainsFunc(c.Progress, func(m string) bool { return strings.HasPrefix(m, "t1 code running on slow") }) {
		t.Errorf("cancelled call = %+v", c)
	}
	if !strings.Contains(r.AfterCancel, "1024") {
		t.Errorf("after the cancelled call, ask answered %q", r.AfterCancel)
	}
	errs := r.ClientErrors
	if mode == "http" {
		// Over HTTP the SDK answers the cancelled call anyway (go-sdk
		// issues 1235, 1259), and the stream it answers on is not this
		// process's to drop; over stdio it is dropped.
		errs = slices.DeleteFunc(errs, func(m string) bool {
			return strings.HasPrefix(m, "Received a response for an unknown message ID") && strings.Contains(m, "cancelled (subtask t1)")
		})
	}
	if len(errs) > 0 {
		// Such as a progress notification handled after its call's
		// result, or an answer to a cancelled call: some hosts drop the
		// connection on them.
		t.Errorf("the client reported protocol errors: %q", errs)
	}
}
