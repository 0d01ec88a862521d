package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/task"
)

// Two models with the same capabilities on the scripted upstream, each
// answering with its own name, so an answer tells who wrote it.
const (
	slowWriter = "slow-writer"
	slowStream = "slow-stream"
)

// namedModelsConfig configures both models on the upstream at baseURL,
// slow-writer with the given fallbacks list.
func namedModelsConfig(baseURL, writerFallbacks string) string {
	model := "  - {name: %s, backend: openai, base_url: %q, api_key_env: %s, capabilities: [chat, summarize], concurrency: 8%s}\n"
	return "models:\n" +
		fmt.Sprintf(model, slowWriter, baseURL, upstreamKeyEnv, ", fallbacks: "+writerFallbacks) +
		fmt.Sprintf(model, slowStream, baseURL, upstreamKeyEnv, "")
}

// modelExecutor starts `taskrouter executor` with the config file at
// cfgPath, serving model, its upstream key in the environment.
func (c *cluster) modelExecutor(name, cfgPath, model string) *proc {
	c.t.Helper()
	p := startProcEnv(c.t, name, []string{upstreamKeyEnv + "=" + upstreamKey}, c.bin, "executor",
		"--config", cfgPath, "--nats", c.natsURL, "--redis", c.redisURL, "--models", model)
	p.waitOutput(c.t, "taskrouter executor serving", 30*time.Second)
	return p
}

var httpAPIPattern = regexp.MustCompile(`HTTP API (http://127\.0\.0\.1:\d+/v1)`)

// httpAPI returns the base URL of a router's HTTP API, from its output.
func (p *proc) httpAPI(t *testing.T) string {
	t.Helper()
	m := httpAPIPattern.FindStringSubmatch(p.out.String())
	if m == nil {
		t.Fatalf("%s did not print its HTTP API address:\n%s", p.name, p.out.String())
	}
	return m[1]
}

// namedAnswer is who answered a request naming a model, or what went wrong.
type namedAnswer struct {
	model, subtaskModel, answer string
	attempts                    int
	// resent counts the times the client sent the request again after a
	// retryable failure, as a client honouring Retry-After does.
	resent int
	err    string
}

// askNamed sends n requests naming model over tr.v1.req from workers
// goroutines, calling midway once after `at` of them completed.
func (c *cluster) askNamed(model string, n, workers, at int, midway func()) []namedAnswer {
	out := make([]namedAnswer, n)
	var next, completed atomic.Int64
	var once sync.Once
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				out[i] = c.askNamedOnce(model)
				if completed.Add(1) == int64(at) {
					once.Do(midway)
				}
			}
		})
	}
	wg.Wait()
	return out
}

// askNamedOnce asks model once as a client would: a retryable failure
// (no live executor for a moment, a model cooling down) is sent again
// after its Retry-After, up to four times. A heartbeat that comes late on
// a loaded machine makes a replica look dead for a moment; who answers is
// what is tested, not the heartbeats' timing.
func (c *cluster) askNamedOnce(model string) namedAnswer {
	var a namedAnswer
	for ; ; a.resent++ {
		resp, err := c.ask(task.Request{Input: "Write one line about NATS.", Hints: task.Hints{Model: model}})
		switch {
		case err != nil:
			a.err = err.Error()
		case resp.Error != nil:
			a.err = resp.Error.Error()
			if resp.Error.Retryable && a.resent < 4 {
				time.Sleep(min(max(resp.Error.RetryAfter(), 100*time.Millisecond), 2*time.Second))
				continue
			}
		case len(resp.Subtasks) != 1:
			a.err = fmt.Sprintf("%d subtasks", len(resp.Subtasks))
		default:
			return namedAnswer{model: resp.Model, subtaskModel: resp.Subtasks[0].Model, answer: resp.Answer,
				attempts: resp.Subtasks[0].Attempts, resent: a.resent}
		}
		return a
	}
}

// resent sums the client's resends over answers.
func resent(answers []namedAnswer) int {
	n := 0
	for _, a := range answers {
		n += a.resent
	}
	return n
}

// chatHTTP asks the router's HTTP API for a chat completion naming model
// and returns the answer's model field and X-Taskrouter-Model header.
func chatHTTP(t *testing.T, api, model string) (bodyModel, header, content string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"model": model, "messages": []map[string]string{{"role": "user", "content": "Write one line about NATS."}}})
	resp, err := http.Post(api+"/chat/completions", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c struct {
		Model   string `json:"model"`
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil || resp.StatusCode != http.StatusOK || len(c.Choices) != 1 {
		t.Fatalf("POST %s/chat/completions naming %s: status %d, %v", api, model, resp.StatusCode, err)
	}
	return c.Model, resp.Header.Get("X-Taskrouter-Model"), c.Choices[0].Message.Content
}

// A request naming a model is answered by that model only: with one of
// its two executors SIGKILLed under load, every answer still comes from
// it (its lost attempts retried on the other replica), never from the
// other model with the same capabilities. Configured with a fallback and
// with every executor of it killed, the fallback answers, and the
// answers say so.
func TestDistributedNamedModelIsAnsweredByItOnly(t *testing.T) {
	upstream := openaitest.New(openaitest.WithAPIKey(upstreamKey))
	t.Cleanup(upstream.Close)
	upstream.Script(slowWriter, openaitest.Behaviour{Reply: "Written by " + slowWriter + ".", Latency: 300 * time.Millisecond})
	upstream.Script(slowStream, openaitest.Behaviour{Reply: "Written by " + slowStream + ".", Latency: 300 * time.Millisecond})
	c := newCluster(t, redisDB(t))
	router := c.router("router", "  attempts: 4\n")
	api := router.httpAPI(t)
	plain := c.writeConfig("models", namedModelsConfig(upstream.URL(), "[]"))
	w1 := c.modelExecutor("writer-1", plain, slowWriter)
	w2 := c.modelExecutor("writer-2", plain, slowWriter)
	c.modelExecutor("stream-1", plain, slowStream)
	c.waitReplicas(map[string]int{slowWriter: 2, slowStream: 1}, 15*time.Second)
	waitFor(t, 15*time.Second, "an answer from "+slowWriter, func() bool {
		resp, err := c.ask(task.Request{Input: "hi", Hints: task.Hints{Model: slowWriter}})
		return err == nil && resp.Error == nil && resp.Model == slowWriter
	})

	// Part 1: SIGKILL one replica of slow-writer with requests in flight.
	answers := c.askNamed(slowWriter, 50, 10, 15, func() { w1.signal(t, syscall.SIGKILL) })
	retried := 0
	for i, a := range answers {
		if a.err != "" || a.model != slowWriter || a.subtaskModel != slowWriter || a.answer != "Written by "+slowWriter+"." {
			t.Errorf("request %d naming %s: answered by %q (subtask %q): %q, error %q", i, slowWriter, a.model, a.subtaskModel, a.answer, a.err)
		}
		if a.attempts > 1 {
			retried++
		}
	}
	if n := upstream.Calls(slowStream); n != 0 {
		t.Fatalf("the upstream got %d calls for %s, which no request named", n, slowStream)
	}
	if retried == 0 {
		t.Errorf("no request was retried: the replica died with nothing in flight")
	}
	t.Logf("part 1: 50 requests, %d retried after SIGKILL, %d resent by the client; upstream calls: %s %d, %s 0",
		retried, resent(answers), slowWriter, upstream.Calls(slowWriter), slowStream)
	if m, h, content := chatHTTP(t, api, slowWriter); m != slowWriter || h != slowWriter || content != "Written by "+slowWriter+"." {
		t.Errorf("HTTP naming %s: model %q, X-Taskrouter-Model %q, content %q", slowWriter, m, h, content)
	}

	// Part 2: slow-writer configured with fallbacks [slow-stream]; every
	// executor of slow-writer killed.
	w2.signal(t, syscall.SIGKILL)
	w3 := c.modelExecutor("writer-3", c.writeConfig("fallbacks", namedModelsConfig(upstream.URL(), "["+slowStream+"]")), slowWriter)
	waitFor(t, 10*time.Second, slowWriter+"'s fallbacks in the registry", func() bool {
		spec, ok := c.watch.Spec(slowWriter)
		return ok && len(spec.Fallbacks) == 1 && spec.Fallbacks[0] == slowStream
	})
	w3.signal(t, syscall.SIGKILL)
	// The router's snapshot of the registry lags Redis by up to a refresh.
	waitFor(t, 10*time.Second, "the router answering "+slowWriter+" with its fallback", func() bool {
		resp, err := c.ask(task.Request{Input: "hi", Hints: task.Hints{Model: slowWriter}})
		return err == nil && resp.Error == nil && resp.Model == slowStream
	})
	writerCalls, streamCalls := upstream.Calls(slowWriter), upstream.Calls(slowStream)
	answers = c.askNamed(slowWriter, 20, 5, 20, func() {})
	for i, a := range answers {
		if a.err != "" || a.model != slowStream || a.subtaskModel != slowStream || a.answer != "Written by "+slowStream+"." {
			t.Errorf("request %d naming %s with every replica dead: answered by %q (subtask %q): %q, error %q", i, slowWriter, a.model, a.subtaskModel, a.answer, a.err)
		}
	}
	if m, h, content := chatHTTP(t, api, slowWriter); m != slowStream || h != slowStream || content != "Written by "+slowStream+"." {
		t.Errorf("HTTP naming %s, answered by its fallback: model %q, X-Taskrouter-Model %q, content %q", slowWriter, m, h, content)
	}
	if got := upstream.Calls(slowWriter) - writerCalls; got != 0 {
		t.Errorf("the upstream got %d calls for %s after its executors died", got, slowWriter)
	}
	if got := upstream.Calls(slowStream) - streamCalls; got != 21 {
		t.Errorf("the upstream got %d calls for %s, want the 21 requests its fallback answered", got, slowStream)
	}
	t.Logf("part 2: 20 requests answered by the fallback, %d resent by the client", resent(answers))
}
