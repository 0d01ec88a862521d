package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/task"
)

// A burst far beyond a built-in model's concurrency waits in the
// executor's queue instead of being refused: on this 2-core machine, 1,000
// requests sent at once to local/calc over HTTP all get their answer.
func TestBurstToBuiltinModelIsQueuedNotRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 1,000 concurrent requests")
	}
	cfg := DefaultConfig()
	cfg.HTTP.Jobs.Store = "memory"
	_, base := startServing(t, cfg, nil)
	got := burst(t, base, 1000)
	t.Logf("burst: %s", got)
	if got.counts[200] != 1000 {
		t.Fatalf("answers by status: %s, want 1000 times 200; first failure: %s", got, got.first)
	}
}

// burstResult counts the answers of a burst by HTTP status.
type burstResult struct {
	counts map[int]int
	first  string
}

func (b burstResult) String() string {
	var codes []int
	for c := range b.counts {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var parts []string
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d: %d", c, b.counts[c]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// burst sends n chat completions for local/summarize at once, each on its own
// connection, and counts the answers by status (0 for transport errors).
func burst(t *testing.T, base string, n int) burstResult {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: n, DisableCompression: true}}
	defer client.CloseIdleConnections()
	text := strings.Repeat(sample+" ", 4)
	body := []byte(`{"model":"local/summarize","messages":[{"role":"user","content":"` + text + `"}]}`)
	res := burstResult{counts: map[int]int{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			code, detail := postOnce(client, base+"/v1/chat/completions", body)
			if code == 200 && !strings.Contains(detail, "NATS") {
				code = -1 // a 200 without the summary
			}
			mu.Lock()
			defer mu.Unlock()
			res.counts[code]++
			if code != 200 && res.first == "" {
				res.first = detail
			}
		}()
	}
	close(gate)
	wg.Wait()
	return res
}

func postOnce(client *http.Client, url string, body []byte) (int, string) {
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, fmt.Sprintf("%d Retry-After %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), data)
}

// A subtask refused for want of a slot reaches the client with the wait
// it should retry after: a Retry-After header on HTTP's 503, and
// retry_after_ms in the Response's error on NATS.
func TestOverloadedReachesClientsWithRetryAfter(t *testing.T) {
	up := openaitest.New()
	t.Cleanup(up.Close)
	up.Script("slow", openaitest.Behaviour{Reply: "ok", Latency: 3 * time.Second})
	cfg := DefaultConfig()
	cfg.HTTP.Jobs.Store = "memory"
	cfg.Router.Attempts = 1
	cfg.Executors = []string{"slow"}
	cfg.Executor = ExecutorConfig{Queue: 4, QueueWait: 200 * time.Millisecond}
	cfg.Models = []task.ModelSpec{{Name: "slow", Backend: task.BackendOpenAI, BaseURL: up.URL(), Capabilities: []string{"chat"}, Concurrency: 1}}
	a, base := startServing(t, cfg, nil)
	body := []byte(`{"model":"slow","messages":[{"role":"user","content":"hi"}]}`)
	first := make(chan int, 1)
	go func() {
		code, _ := postOnce(http.DefaultClient, base+"/v1/chat/completions", body)
		first <- code
	}()
	waitFor(t, 10*time.Second, "the first request reaching the upstream", func() bool { return up.Calls("slow") == 1 })
	resp, err := http.Post(base+"/v1/chat/completions", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !bytes.Contains(data, []byte(`"overloaded"`)) {
		t.Fatalf("HTTP while the only slot is busy: %d %s, want 503 overloaded", resp.StatusCode, data)
	}
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || secs < 1 {
		t.Fatalf("HTTP 503 has Retry-After %q, want whole seconds", resp.Header.Get("Retry-After"))
	}
	stop, err := a.router.Serve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	nc, err := a.bus.Connect("producer", nats.CustomInboxPrefix("_INBOX.producer")) // a router's inbox is no reply subject
	if err != nil {
		t.Fatal(err)
	}
	msg, err := nc.Request(task.SubjectRequest, []byte(`{"input":"hi","model":"slow"}`), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var r task.Response
	if err := json.Unmarshal(msg.Data, &r); err != nil {
		t.Fatal(err)
	}
	if r.Error == nil || r.Error.Code != task.CodeOverloaded || r.Error.RetryAfterMs <= 0 {
		t.Fatalf("NATS response error = %+v, want overloaded with retry_after_ms", r.Error)
	}
	if code := <-first; code != http.StatusOK {
		t.Fatalf("the request holding the slot ended with %d", code)
	}
}
