package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
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

// burst sends n chat completions for local/calc at once, each on its own
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
	if resp.StatusCode == 200 && !bytes.Contains(data, []byte("NATS")) {
		return -1, "200 without a summary: " + string(data)
	}
	return resp.StatusCode, fmt.Sprintf("%d Retry-After %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), data)
}
