package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/task"
)

// peakHandler passes requests to an upstream and records how many it
// served at once at the peak.
type peakHandler struct {
	next       http.Handler
	open, peak atomic.Int64
}

func (h *peakHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := h.open.Add(1)
	defer h.open.Add(-1)
	for p := h.peak.Load(); n > p && !h.peak.CompareAndSwap(p, n); p = h.peak.Load() {
	}
	h.next.ServeHTTP(w, r)
}

// serveCounting serves upstream on loopback behind a peakHandler.
func serveCounting(t *testing.T, upstream http.Handler) (*peakHandler, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &peakHandler{next: upstream}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return h, "http://" + l.Addr().String() + "/v1"
}

// A remote model whose spec sets no concurrency takes many subtasks at
// once, as a remote API does: a plan's two parallel one-second steps on
// one remote model reach the upstream together.
func TestRemoteModelRunsParallelStepsAtOnce(t *testing.T) {
	up := openaitest.New()
	t.Cleanup(up.Close)
	up.Script("remote-translator", openaitest.Behaviour{Reply: "Bonjour.", Latency: time.Second})
	counter, baseURL := serveCounting(t, up)
	cfg := DefaultConfig()
	cfg.HTTP.Addr = ""
	cfg.Executors = []string{"remote-translator"}
	cfg.Models = []task.ModelSpec{{Name: "remote-translator", Backend: task.BackendOpenAI, BaseURL: baseURL,
		Capabilities: []string{"translate"}}}
	env := &cliEnv{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	cat := task.BuiltinCatalog()
	a, err := startApp(context.Background(), env, cfg, cat, nil, nil, appParts{router: true, executors: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.close)
	plan := task.Plan{Tasks: []task.Subtask{
		{ID: "t1", Capability: "translate", Input: "Good morning.", Args: map[string]string{"target_lang": "fr"}, Deps: []string{}},
		{ID: "t2", Capability: "translate", Input: "Good evening.", Args: map[string]string{"target_lang": "fr"}, Deps: []string{}},
	}}
	resp := a.router.Handle(context.Background(), task.Request{Input: "Translate both into French.", Plan: &plan}, nil)
	if resp.Error != nil {
		t.Fatalf("the plan failed: %v", resp.Error)
	}
	if p := counter.peak.Load(); p != 2 {
		t.Fatalf("the upstream served %d requests at once at the peak, want the 2 parallel steps together", p)
	}
}

// executor.queue and executor.queue_wait reach the executors: with one
// slot and one place in the queue, a third subtask is refused at once and
// the queued one is answered overloaded after the wait.
func TestExecutorQueueConfigApplies(t *testing.T) {
	up := openaitest.New()
	t.Cleanup(up.Close)
	up.Script("slow", openaitest.Behaviour{Reply: "ok", Latency: time.Second})
	cfg := DefaultConfig()
	cfg.HTTP.Addr = ""
	cfg.Executors = []string{"slow"}
	cfg.Executor = ExecutorConfig{Queue: 1, QueueWait: 300 * time.Millisecond}
	cfg.Models = []task.ModelSpec{{Name: "slow", Backend: task.BackendOpenAI, BaseURL: up.URL(), Capabilities: []string{"chat"}, Concurrency: 1}}
	env := &cliEnv{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	a, err := startApp(context.Background(), env, cfg, task.BuiltinCatalog(), nil, nil, appParts{executors: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.close)
	nc, err := a.bus.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	send := func(id string) <-chan task.Reply {
		out := make(chan task.Reply, 16)
		inbox := nats.NewInbox()
		if _, err := nc.Subscribe(inbox, func(m *nats.Msg) {
			var r task.Reply
			_ = json.Unmarshal(m.Data, &r)
			out <- r
		}); err != nil {
			t.Fatal(err)
		}
		w, _ := json.Marshal(task.Work{RequestID: "r", SubtaskID: id, Model: "slow", Capability: "chat", Input: "hi"})
		if err := nc.PublishRequest(task.ModelSubject("slow"), inbox, w); err != nil {
			t.Fatal(err)
		}
		return out
	}
	recv := func(ch <-chan task.Reply) task.Reply {
		select {
		case r := <-ch:
			return r
		case <-time.After(5 * time.Second):
			t.Fatal("no reply")
		}
		return task.Reply{}
	}
	running := send("t1")
	if r := recv(running); r.Type != task.ReplyAccepted {
		t.Fatalf("t1: %+v", r)
	}
	waitFor(t, 5*time.Second, "t1 reaching the upstream", func() bool { return up.Calls("slow") == 1 })
	queued := send("t2")
	if r := recv(queued); r.Type != task.ReplyAccepted {
		t.Fatalf("t2: %+v", r)
	}
	if r := recv(send("t3")); r.Type != task.ReplyError || r.Error.Code != task.CodeOverloaded {
		t.Fatalf("t3 beyond executor.queue 1: %+v, want overloaded at once", r)
	}
	if r := recv(queued); r.Type != task.ReplyError || r.Error.Code != task.CodeOverloaded || r.Error.RetryAfter() > 300*time.Millisecond {
		t.Fatalf("t2 after executor.queue_wait: %+v %+v, want overloaded, retry_after_ms at most the wait", r, r.Error)
	}
}

func TestExecutorConfigValidated(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Executor = ExecutorConfig{Queue: 0, QueueWait: -time.Second}
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "executor.queue:") || !strings.Contains(err.Error(), "executor.queue_wait") {
		t.Fatalf("Validate = %v, want errors naming executor.queue and executor.queue_wait", err)
	}
}
