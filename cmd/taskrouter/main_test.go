package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// runCLI runs a command with an empty environment, but for OLLAMA_HOST,
// which points where no Ollama answers, whatever runs on this machine.
func runCLI(t *testing.T, ctx context.Context, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runCLIEnv(t, ctx, map[string]string{"OLLAMA_HOST": noOllama}, args...)
}

// noOllama is an address where nothing listens: port 1 of loopback.
const noOllama = "127.0.0.1:1"

// runCLIEnv runs a command with the given environment.
func runCLIEnv(t *testing.T, ctx context.Context, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cliEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string { return vars[k] }}
	code = run(ctx, args, env)
	return code, out.String(), errb.String()
}

const sample = "NATS is a simple, secure and high performance messaging system. It connects services across clouds and edge devices. " +
	"Teams use it for request-reply, streaming and key-value storage. Its small footprint makes it popular for embedded use."

func TestAskEndToEndOnTheEmbeddedDefault(t *testing.T) {
	code, out, errOut := runCLI(t, context.Background(), "ask", "--json",
		"Summarize this text, extract its keywords and detect its language: '"+sample+"'")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var resp task.Response
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatalf("stdout is not a Response: %v\n%s", err, out)
	}
	if resp.ID == "" || resp.Answer == "" || resp.Plan == nil || len(resp.Plan.Tasks) != 3 || len(resp.Subtasks) != 3 {
		t.Fatalf("incomplete response: %+v", resp)
	}
	caps := map[string]bool{}
	for _, st := range resp.Subtasks {
		caps[st.Capability] = true
		if st.Status != task.StatusDone || st.Executor == "" || st.Model != "local/"+st.Capability || st.Attempts != 1 || len(st.Deps) != 0 {
			t.Errorf("subtask %+v", st)
		}
	}
	if !caps["summarize"] || !caps["keywords"] || !caps["langid"] {
		t.Fatalf("capabilities = %v", caps)
	}
	for _, want := range []string{"running on", "done in", "merged (template)"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("progress on stderr lacks %q:\n%s", want, errOut)
		}
	}
}

func TestAskFailsClearlyWhenNoModelServesACapability(t *testing.T) {
	code, _, errOut := runCLI(t, context.Background(), "ask", "--quiet", "Translate this into French: 'good morning'")
	if code != exitFailed || !strings.Contains(errOut, "translate") || !strings.Contains(errOut, "no_model") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

func TestUsageErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("planner:\n  mood: happy\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"ask"}, "missing the request text"},
		{[]string{"frobnicate"}, "unknown command"},
		{[]string{"ask", "--config", bad, "hi"}, "line 2"},
		{[]string{"plan", "--planner", "psychic", "hi"}, "psychic"},
		{[]string{"ask", "--bogus", "hi"}, "bogus"},
	}
	for _, c := range cases {
		code, _, errOut := runCLI(t, context.Background(), c.args...)
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 mentioning %q", c.args, code, errOut, c.want)
		}
	}
	for _, cmd := range []string{"ask", "plan", "serve", "executor", "models", "capabilities", "bench"} {
		if code, _, errOut := runCLI(t, context.Background(), cmd, "--help"); code != exitOK || !strings.Contains(errOut, "Usage: taskrouter "+cmd) {
			t.Errorf("%s --help: exit %d, %q", cmd, code, errOut)
		}
	}
}

func TestPlanJSON(t *testing.T) {
	code, out, errOut := runCLI(t, context.Background(), "plan", "--json", "Summarize this article and then translate the summary into French: 'Go is fast. Go is simple.'")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	p, err := task.DecodePlan([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Tasks) != 2 || p.Tasks[1].Capability != "translate" || p.Tasks[1].Deps[0] != p.Tasks[0].ID || p.Tasks[1].Args["target_lang"] != "fr" {
		t.Fatalf("plan = %s", out)
	}
}

func TestServeAnswersAskOverNATS(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	cfg := filepath.Join(t.TempDir(), "serve.yaml")
	yaml := "nats:\n  listen: " + addr + "\n  store_dir: " + filepath.Join(t.TempDir(), "js") + "\nhttp:\n  addr: 127.0.0.1:0\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan int, 1)
	go func() {
		code, _, _ := runCLI(t, ctx, "serve", "--config", cfg)
		served <- code
	}()
	url := "nats://" + addr
	var code int
	var out, errOut string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		code, out, errOut = runCLI(t, context.Background(), "ask", "--nats", url, "What is (128 + 256) * 3?")
		if code != exitUnavailable {
			break
		}
	}
	if code != exitOK || strings.TrimSpace(out) != "(128 + 256) * 3 = 1152" || !strings.Contains(errOut, "done in") {
		t.Fatalf("ask over NATS: exit %d, out %q, err %q", code, out, errOut)
	}
	stop()
	select {
	case code := <-served:
		if code != exitOK {
			t.Fatalf("serve exited %d", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop on cancellation")
	}
}

func TestUnreachableRedisIsUnavailable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // nothing listens there now
	code, _, errOut := runCLI(t, context.Background(), "models", "--redis", "redis://"+addr)
	if code != exitUnavailable || !strings.Contains(errOut, "registry") {
		t.Fatalf("exit %d, stderr %q; want exit 3 naming the registry", code, errOut)
	}
}

func TestModelsListsBuiltins(t *testing.T) {
	code, out, errOut := runCLI(t, context.Background(), "models")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"local/summarize", "local/langid", "ready"} {
		if !strings.Contains(out, want) {
			t.Errorf("models output lacks %q:\n%s", want, out)
		}
	}
}
