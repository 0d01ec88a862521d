package main

import (
	"bytes"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// The burst of the HTTP bench: httpBenchBurst chat completions sent at
// once to a built-in model, far beyond its concurrency (two per core).
// Each summarizes a text of about 2 KB, a few milliseconds of CPU, so
// that most wait in the executor's queue.
const (
	httpBenchBurst = 1000
	burstModel     = "local/summarize"
	burstText      = "NATS is a simple, secure and high performance messaging system. It connects services across clouds and edge devices. " +
		"Teams use it for request-reply, streaming and key-value storage. Its small footprint makes it popular for embedded use. "
)

var burstBody = []byte(`{"model":"` + burstModel + `","messages":[{"role":"user","content":"` + strings.Repeat(burstText, 4) + `"}]}`)

// burstFigures is what the burst measured: how many failed (the target is
// none) and the latency of the others.
type burstFigures struct {
	errors   int
	first    string
	p50, p99 time.Duration
}

// burst sends n requests of body to url at once, each reading its whole
// answer, and returns the failures and the latencies of the successes.
func (lg *loadGen) burst(url string, body []byte, n int) burstFigures {
	var mu sync.Mutex
	var f burstFigures
	var took []time.Duration
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			start := time.Now()
			err := lg.answered(url, body)
			d := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				f.errors++
				if f.first == "" {
					f.first = err.Error()
				}
				return
			}
			took = append(took, d)
		}()
	}
	close(gate)
	wg.Wait()
	if len(took) > 0 {
		sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
		f.p50, f.p99 = took[len(took)/2], took[len(took)*99/100]
	}
	return f
}

// answered posts body and reads the answer; any status but 200 is an
// error that quotes the answer.
func (lg *loadGen) answered(url string, body []byte) error {
	resp, err := lg.client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return &statusError{code: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: string(data)}
	}
	return nil
}

// statusError is an answer other than 200.
type statusError struct {
	code       int
	retryAfter string
	body       string
}

func (e *statusError) Error() string {
	s := http.StatusText(e.code)
	if e.retryAfter != "" {
		s += ", Retry-After " + e.retryAfter
	}
	return s + ": " + e.body
}
