package httpapi_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/adapters/httpapi"
	"github.com/taskrouter/taskrouter/adapters/httpapi/console"
	"github.com/taskrouter/taskrouter/adapters/openai"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/task"
)

// openStreams is how many streams BenchmarkOpenStreams holds open at once.
const openStreams = 200

// BenchmarkOpenStreams holds openStreams streaming chat completions open
// at once through the whole path (the HTTP API on loopback, the router,
// embedded NATS, an executor relaying an OpenAI-compatible upstream), and
// through the standard library's reverse proxy to the same upstream in
// the same run, and reports what this process holds per open stream:
// goroutine stacks (stack-B/stream), live heap (heap-B/stream) and
// goroutines, with the runtime's starting stack size for new goroutines,
// which follows the average stack in use. Both sides count the client
// and the upstream, which are in this process too; the difference is what
// the router's path adds. Run it with -benchtime=3x: one iteration opens
// and releases every stream.
func BenchmarkOpenStreams(b *testing.B) {
	up := newHeldUpstream()
	b.Cleanup(up.Close)
	model, err := openai.New(task.ModelSpec{Name: "gpt-held", Backend: task.BackendOpenAI, BaseURL: up.URL, Capabilities: []string{"chat"}}, "sk-test")
	if err != nil {
		b.Fatal(err)
	}
	e := newEnv(b, envOptions{cfg: httpapi.Config{Console: console.New(console.Config{})}, models: []executors.Served{{
		Spec:  task.ModelSpec{Name: "gpt-held", Backend: task.BackendOpenAI, BaseURL: up.URL, Capabilities: []string{"chat"}, Concurrency: 2 * openStreams},
		Model: model,
	}}})
	target, _ := url.Parse(up.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.FlushInterval = -1
	bare := httptest.NewServer(proxy)
	b.Cleanup(bare.Close)

	b.Run("taskrouter", func(b *testing.B) { holdStreams(b, up, e.url+"/v1/chat/completions") })
	b.Run("bare_proxy", func(b *testing.B) { holdStreams(b, up, bare.URL+"/v1/chat/completions") })
}

// holdStreams opens openStreams streams to url per iteration, measures
// this process once every one has had its first chunk, then lets them
// finish.
func holdStreams(b *testing.B, up *heldUpstream, url string) {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	var stack, heap, goroutines, startSize float64
	rounds := 0
	for b.Loop() {
		rounds++
		b.StopTimer()
		up.CloseClientConnections() // no idle connection of the last round in the baseline
		time.Sleep(50 * time.Millisecond)
		before := settledMemStats()
		g0 := runtime.NumGoroutine()
		release := up.hold()
		b.StartTimer()
		var opened, finished sync.WaitGroup
		var failures atomic.Int64
		var first atomic.Value
		opened.Add(openStreams)
		finished.Add(openStreams)
		for range openStreams {
			go func() {
				defer finished.Done()
				if err := heldStream(client, url, opened.Done); err != nil {
					failures.Add(1)
					first.CompareAndSwap(nil, err)
				}
			}()
		}
		opened.Wait()
		b.StopTimer()
		peak := settledMemStats()
		goroutines += float64(runtime.NumGoroutine() - g0)
		startSize += float64(startingStackSize())
		b.StartTimer()
		release()
		finished.Wait()
		if n := failures.Load(); n > 0 {
			b.Fatalf("%d of %d streams failed; the first: %v", n, openStreams, first.Load())
		}
		stack += float64(peak.StackInuse) - float64(before.StackInuse)
		heap += float64(peak.HeapAlloc) - float64(before.HeapAlloc)
	}
	per := float64(rounds * openStreams)
	b.ReportMetric(stack/per, "stack-B/stream")
	b.ReportMetric(heap/per, "heap-B/stream")
	b.ReportMetric(goroutines/per, "goroutines/stream")
	b.ReportMetric(startSize/float64(rounds), "start-stack-B")
}

// settledMemStats collects garbage, as the runtime does all along under
// load (shrinking the stacks of goroutines that use little of theirs),
// and reads the memory statistics.
func settledMemStats() runtime.MemStats {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}

// startingStackSize is the stack a new goroutine starts with: the
// average stack in use at the last collection, rounded up to a power of
// two.
func startingStackSize() uint64 {
	s := []metrics.Sample{{Name: "/gc/stack/starting-size:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// heldStream sends a streaming completion to url, calls opened once the
// first chunk of text arrived, and reads the rest, which must end with
// [DONE].
func heldStream(client *http.Client, url string, opened func()) error {
	body := `{"model":"gpt-held","stream":true,"messages":[{"role":"user","content":"Say hello."}]}`
	resp, err := client.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		opened()
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		opened()
		data, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("status %d: %s", resp.StatusCode, data)
	}
	sc := bufio.NewScanner(resp.Body)
	first := true
	for sc.Scan() {
		line := sc.Bytes()
		if first && bytes.Contains(line, []byte("Hello")) {
			first = false
			opened()
		}
		if string(line) == "data: [DONE]" {
			if first {
				opened()
				return fmt.Errorf("the stream ended before its first text")
			}
			return nil
		}
	}
	if first {
		opened()
	}
	return fmt.Errorf("the stream ended without [DONE]: %v", sc.Err())
}

// heldUpstream is an OpenAI-compatible upstream whose every stream sends
// its first chunk at once and the rest when the round it belongs to is
// released, so that a benchmark finds all of them open.
type heldUpstream struct {
	*httptest.Server
	release atomic.Pointer[chan struct{}]
}

func newHeldUpstream() *heldUpstream {
	u := &heldUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(u.serve))
	return u
}

// hold starts a round: the streams opened from now on wait for the
// function it returns.
func (u *heldUpstream) hold() (release func()) {
	ch := make(chan struct{})
	u.release.Store(&ch)
	return func() { close(ch) }
}

const heldChunk = `data: {"id":"chatcmpl-held","object":"chat.completion.chunk","created":1,"model":"held-1","choices":[{"index":0,"delta":`

func (u *heldUpstream) serve(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	release := *u.release.Load()
	w.Header().Set("Content-Type", "text/event-stream")
	_, _ = io.WriteString(w, heldChunk+`{"role":"assistant","content":"Hello"},"finish_reason":null}]}`+"\n\n")
	if http.NewResponseController(w).Flush() != nil {
		return
	}
	select {
	case <-release:
	case <-r.Context().Done():
		return
	}
	_, _ = io.WriteString(w, heldChunk+`{"content":" there."},"finish_reason":null}]}`+"\n\n"+
		heldChunk+`{},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`+"\n\n"+
		"data: [DONE]\n\n")
}
