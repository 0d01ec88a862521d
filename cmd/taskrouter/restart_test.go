package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/adapters/httpapi/webhook"
)

// serveAPI is the HTTP API address a serve process prints when it is up.
var serveAPI = regexp.MustCompile(`HTTP API (http://\S+)/v1`)

// startServe starts `taskrouter serve` with the environment's extra
// variables and returns the process and its HTTP API's base URL.
func startServe(t *testing.T, name string, vars []string, cfgPath string) (*proc, string) {
	t.Helper()
	p := startProcEnv(t, name, vars, taskrouterBinary(t), "serve", "--config", cfgPath)
	p.waitOutput(t, "taskrouter serving", 30*time.Second)
	m := serveAPI.FindStringSubmatch(p.out.String())
	if m == nil {
		t.Fatalf("%s printed no HTTP API address:\n%s", name, p.out.String())
	}
	return p, m[1]
}

// `serve` with the default config keeps jobs and webhook ids in the
// user's state directory: after a restart a job is still there, finished,
// and a replayed webhook creates no second job. A second serve on the
// same directory fails at once, saying which directory, who holds it and
// what to do.
func TestServeKeepsJobsAndWebhookIDsAcrossARestart(t *testing.T) {
	skipShort(t)
	state := t.TempDir()
	vars := []string{"XDG_STATE_HOME=" + state, envWebhookSecret + "=" + testHookSecret, envAPIKeys + "="}
	cfgPath := filepath.Join(t.TempDir(), "serve.yaml")
	if err := os.WriteFile(cfgPath, []byte("http:\n  addr: 127.0.0.1:0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	first, base := startServe(t, "serve-1", vars, cfgPath)
	code, j := call(t, "POST", base+"/v1/jobs", "", `{"input":"What is 17 * 23 + 4?"}`, nil)
	if code != http.StatusAccepted {
		t.Fatalf("creating a job: %d %v", code, j)
	}
	jobID := j["id"].(string)
	waitJobDone(t, base, jobID)

	secret, _ := webhook.ParseSecret(testHookSecret)
	body := `{"input":"Detect the language: 'Bonjour tout le monde'"}`
	signed := http.Header{}
	secret.SetHeaders(signed, "msg_restart_1", time.Now(), []byte(body))
	code, hook := call(t, "POST", base+"/v1/webhooks/default", "", body, signed)
	if code != http.StatusAccepted {
		t.Fatalf("webhook: %d %v", code, hook)
	}
	hookJob := hook["id"].(string)
	waitJobDone(t, base, hookJob)

	first.signal(t, syscall.SIGTERM)
	if code := first.exitCode(t, 30*time.Second); code != exitOK {
		t.Fatalf("serve exited %d on SIGTERM", code)
	}
	if _, err := os.Stat(filepath.Join(state, "taskrouter", "jetstream")); err != nil {
		t.Fatalf("no JetStream state in $XDG_STATE_HOME/taskrouter: %v", err)
	}

	second, base := startServe(t, "serve-2", vars, cfgPath)
	code, j = call(t, "GET", base+"/v1/jobs/"+jobID, "", "", nil)
	if code != http.StatusOK || j["status"] != "done" || !strings.Contains(fmt.Sprint(j["answer"]), "395") {
		t.Fatalf("after a restart GET /v1/jobs/%s: %d %v, want the finished job", jobID, code, j)
	}
	code, replay := call(t, "POST", base+"/v1/webhooks/default", "", body, signed)
	if code != http.StatusOK || replay["id"] != hookJob || replay["duplicate"] != true {
		t.Fatalf("replaying the webhook after a restart: %d %v, want 200 naming job %s as a duplicate", code, replay, hookJob)
	}

	third := startProcEnv(t, "serve-3", vars, taskrouterBinary(t), "serve", "--config", cfgPath)
	if code := third.exitCode(t, 20*time.Second); code != exitUnavailable {
		t.Fatalf("a second serve on the same data directory exited %d, want %d", code, exitUnavailable)
	}
	msg := third.out.String()
	for _, want := range []string{filepath.Join(state, "taskrouter"), fmt.Sprintf("pid %d", second.cmd.Process.Pid), "--data-dir", "nats.store_dir"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the second serve's error does not mention %q:\n%s", want, msg)
		}
	}
	// The refused serve left the running one alone.
	if code, _ := call(t, "GET", base+"/v1/jobs/"+jobID, "", "", nil); code != http.StatusOK {
		t.Fatalf("the running serve answers %d after the refused one exited", code)
	}
}

func waitJobDone(t *testing.T, base, id string) {
	t.Helper()
	var j map[string]any
	waitFor(t, 30*time.Second, "job "+id+" done", func() bool {
		_, j = call(t, "GET", base+"/v1/jobs/"+id, "", "", nil)
		return j["status"] == "done"
	})
}
