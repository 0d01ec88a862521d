package router_test

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/adapters/openai"
	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/task"
)

// logLines collects log lines for assertions.
type logLines struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// count returns how many lines hold every fragment.
func (l *logLines) count(fragments ...string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range strings.Split(l.buf.String(), "\n") {
		all := line != ""
		for _, f := range fragments {
			all = all && strings.Contains(line, f)
		}
		if all {
			n++
		}
	}
	return n
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// A model whose upstream refuses connections: the first request fails
// after its attempts and opens the model's circuit; the following ones
// fail at once with model_unavailable and when to retry, without a
// dispatch; once the upstream is back, a client that honours Retry-After
// is served within one cooldown. Each change of the circuit is logged
// with the model and the executor that caused it.
func TestDeadUpstreamFailsFastAndRecovers(t *testing.T) {
	addr := closedPort(t)
	var logs logLines
	const period, maxPeriod = 2 * time.Second, 4 * time.Second
	e := newEnvWith(t, router.Config{Attempts: 3}, registry.WithCooldown(3, period, maxPeriod),
		registry.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))))
	spec := task.ModelSpec{Name: "dead", Backend: task.BackendOpenAI, BaseURL: "http://" + addr + "/v1",
		Capabilities: []string{"chat"}, Concurrency: 4}
	m, err := openai.New(spec, "sk-test")
	if err != nil {
		t.Fatal(err)
	}
	e.executor("exec-dead", executors.Served{Spec: spec, Model: m})
	one := plan(sub("t1", "chat", "hi"))
	ask := func() task.Response {
		r := e.router.Handle(context.Background(), task.Request{Input: "hi", Hints: task.Hints{Model: "dead"}, Plan: &one}, nil)
		if len(r.Subtasks) != 1 {
			t.Fatalf("response without its subtask: %+v", r)
		}
		return r
	}

	first := ask()
	if first.Error == nil || first.Error.Code != task.CodeUpstream || first.Subtasks[0].Attempts != 3 {
		t.Fatalf("first request: error %v after %d attempts, want %s after 3", first.Error, first.Subtasks[0].Attempts, task.CodeUpstream)
	}
	for i := 2; i <= 6; i++ {
		r := ask()
		err := r.Error
		if err == nil || err.Code != task.CodeModelUnavailable || !err.Retryable || err.RetryAfterMs <= 0 || err.RetryAfter() > maxPeriod {
			t.Fatalf("request %d: error %+v after %d attempts; want %s, retryable, with a Retry-After up to %v", i, err, r.Subtasks[0].Attempts, task.CodeModelUnavailable, maxPeriod)
		}
		if r.Subtasks[0].Attempts != 0 || !contains(err.Message, `"dead"`) || !contains(err.Message, "cannot reach") {
			t.Fatalf("request %d: %d attempts, message %q; want no dispatch and a message naming the model and the failure", i, r.Subtasks[0].Attempts, err.Message)
		}
	}

	up := openaitest.New(openaitest.WithAddr(addr))
	t.Cleanup(up.Close)
	up.Script("dead", openaitest.Behaviour{Reply: "Back again."})
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := ask()
		if r.Error == nil {
			if r.Answer != "Back again." || r.Model != "dead" {
				t.Fatalf("after recovery: answer %q by %q", r.Answer, r.Model)
			}
			break
		}
		if r.Error.Code != task.CodeModelUnavailable || time.Now().After(deadline) {
			t.Fatalf("after the upstream came back: %v", r.Error)
		}
		time.Sleep(r.Error.RetryAfter()) // as a client honouring Retry-After
	}
	if up.Calls("dead") != 1 {
		t.Errorf("the upstream got %d calls, want the one probe that closed the circuit", up.Calls("dead"))
	}
	for _, want := range [][]string{
		{"level=WARN", "model circuit open", "model=dead", "replica=exec-dead", `reason="upstream: model \"dead\": cannot reach`},
		{"level=INFO", "model circuit half-open", "model=dead", "replica=exec-dead"},
		{"level=INFO", "model circuit closed", "model=dead", "replica=exec-dead"},
	} {
		if logs.count(want...) == 0 {
			t.Errorf("no log line holds %q; the log:\n%s", want, logs.String())
		}
	}
	if n := logs.count("model circuit closed"); n != 1 {
		t.Errorf("%d closed lines, want 1", n)
	}
}
