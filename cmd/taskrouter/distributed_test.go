package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/task"
)

// The distributed tests run the real binary: routers and executors as
// separate processes over a NATS server embedded in the test and a real
// Redis (TASKROUTER_TEST_REDIS, default redis://127.0.0.1:6379; each test
// uses its own database number and flushes it). They fail, not skip, when
// Redis is unreachable; `go test -short` skips them. Every wait polls for
// what it waits for, with bounds generous enough for a loaded 2-core
// machine under -race.

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	// The test's own registry client dials a stopped Redis in the restart
	// test; the registry reports the outage itself.
	redis.SetLogger(registry.GoRedisLogger{Logger: slog.New(slog.DiscardHandler)})
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// taskrouterBinary builds the command once per test run.
func taskrouterBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "taskrouter-bin-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "taskrouter")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("building taskrouter: %w\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// syncBuffer collects a process's output for assertions and failure logs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proc is one child process, killed when the test ends.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error // set before done closes
}

func startProc(t *testing.T, name, bin string, args ...string) *proc {
	t.Helper()
	return startProcEnv(t, name, nil, bin, args...)
}

// startProcEnv starts a process with extra environment variables
// ("KEY=value") besides the test's own.
func startProcEnv(t *testing.T, name string, env []string, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(bin, args...), out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if env != nil {
		p.cmd.Env = append(os.Environ(), env...)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("output of %s (pid %d):\n%s", name, p.cmd.Process.Pid, p.out.String())
		}
	})
	return p
}

// waitOutput waits until the process prints want.
func (p *proc) waitOutput(t *testing.T, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(p.out.String(), want) {
		select {
		case <-p.done:
			t.Fatalf("%s exited (%v) before printing %q:\n%s", p.name, p.err, want, p.out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not print %q within %s:\n%s", p.name, want, timeout, p.out.String())
		}
	}
}

func (p *proc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("sending %v to %s: %v", sig, p.name, err)
	}
}

// exitCode waits for the process to end and returns its exit code.
func (p *proc) exitCode(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("%s did not exit within %s", p.name, timeout)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		t.Fatalf("waiting for %s: %v", p.name, p.err)
	}
	return 0
}

// idMark is the part of an executor id that names its process.
func (p *proc) idMark() string { return fmt.Sprintf("-%d-", p.cmd.Process.Pid) }

// cluster is a NATS server embedded in the test, a Redis URL, and the
// processes started on them.
type cluster struct {
	t        *testing.T
	bin      string
	natsURL  string
	redisURL string
	nc       *nats.Conn
	watch    *registry.Redis
}

// skipShort skips a multi-process test under `go test -short`.
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("multi-process test: starts NATS, routers and executors (make test-distributed runs these alone)")
	}
}

func newCluster(t *testing.T, redisURL string) *cluster {
	t.Helper()
	skipShort(t)
	c := &cluster{t: t, bin: taskrouterBinary(t), redisURL: redisURL}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := bus.Start(ctx, bus.Config{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("starting NATS: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	c.natsURL = b.ClientURL()
	if c.nc, err = b.Connect("test"); err != nil {
		t.Fatal(err)
	}
	if c.watch, err = registry.OpenRedis(ctx, redisURL, registry.WithRefreshInterval(100*time.Millisecond)); err != nil {
		t.Fatalf("opening the registry at %s (start redis-server, or set TASKROUTER_TEST_REDIS): %v", redisURL, err)
	}
	t.Cleanup(func() { _ = c.watch.Close() })
	return c
}

// router starts `taskrouter serve` with no models of its own.
func (c *cluster) router(name, routerExtra string) *proc {
	c.t.Helper()
	// Port 0: routers side by side must not compete for the HTTP port.
	cfg := fmt.Sprintf("nats:\n  url: %s\nredis:\n  url: %s\nhttp:\n  addr: 127.0.0.1:0\nexecutors: []\nrouter:\n  accept_timeout: 400ms\n  lost_after: 1s\n%slog:\n  level: info\n",
		c.natsURL, c.redisURL, routerExtra)
	p := startProc(c.t, name, c.bin, "serve", "--config", c.writeConfig(name, cfg))
	p.waitOutput(c.t, "taskrouter serving", 30*time.Second)
	return p
}

// writeConfig writes a config file for process name and returns its path.
func (c *cluster) writeConfig(name, cfg string) string {
	c.t.Helper()
	path := filepath.Join(c.t.TempDir(), name+".yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		c.t.Fatal(err)
	}
	return path
}

// executor starts `taskrouter executor` serving models.
func (c *cluster) executor(name string, models ...string) *proc {
	c.t.Helper()
	p := startProc(c.t, name, c.bin, "executor", "--nats", c.natsURL, "--redis", c.redisURL, "--models", strings.Join(models, ","))
	p.waitOutput(c.t, "taskrouter executor serving", 30*time.Second)
	return p
}

// Upstream model of the cooldown test: an OpenAI-compatible server in the
// test process, served by an executor process as backend openai.
const (
	chatModel       = "upstream-chat"
	upstreamKeyEnv  = "TASKROUTER_TEST_UPSTREAM_KEY"
	upstreamKey     = "sk-distributed-test"
	chatInput       = "Hello there, how are you today?"
	upstreamReplyOK = "Fine, thank you."
)

// chatExecutor starts `taskrouter executor` serving chatModel from the
// OpenAI-compatible API at baseURL, its key in the environment.
func (c *cluster) chatExecutor(name, baseURL string) *proc {
	c.t.Helper()
	cfg := fmt.Sprintf("models:\n  - name: %s\n    backend: openai\n    base_url: %s\n    api_key_env: %s\n"+
		"    capabilities: [chat]\n    context_window: 8000\n    max_output_tokens: 500\n    concurrency: 4\n",
		chatModel, baseURL, upstreamKeyEnv)
	p := startProcEnv(c.t, name, []string{upstreamKeyEnv + "=" + upstreamKey}, c.bin, "executor",
		"--config", c.writeConfig(name, cfg), "--nats", c.natsURL, "--redis", c.redisURL, "--models", chatModel)
	p.waitOutput(c.t, "taskrouter executor serving", 30*time.Second)
	return p
}

// waitReplicas waits until the registry holds exactly want live replicas
// of each named model.
func (c *cluster) waitReplicas(want map[string]int, timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := c.replicas()
		ok := true
		for model, n := range want {
			ok = ok && got[model] == n
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("live replicas %v, want %v within %s", got, want, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitRouted waits until the routers answer input: a router's snapshot of
// the registry lags Redis by up to one refresh interval (500 ms).
func (c *cluster) waitRouted(inputs ...string) {
	c.t.Helper()
	const within = 10 * time.Second
	for _, input := range inputs {
		deadline := time.Now().Add(within)
		for {
			resp, err := c.ask(task.Request{Input: input})
			if err == nil && checkAnswer(input, resp) == "" {
				break
			}
			if time.Now().After(deadline) {
				c.t.Fatalf("the routers did not answer %q within %s: %v %s", input, within, err, checkAnswer(input, resp))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// modelState returns the registry's state of model, failing the test when
// the registry does not know it.
func (c *cluster) modelState(model string) registry.ModelState {
	c.t.Helper()
	states, err := c.watch.Models(context.Background())
	if err != nil {
		c.t.Fatalf("reading the registry: %v", err)
	}
	if s := findState(states, model); s != nil {
		return *s
	}
	c.t.Fatalf("the registry does not know %s", model)
	return registry.ModelState{}
}

func (c *cluster) replicas() map[string]int {
	states, _ := c.watch.Models(context.Background())
	got := map[string]int{}
	for _, s := range states {
		got[s.Spec.Name] = len(s.Replicas)
	}
	return got
}

// ask sends one request to tr.v1.req and decodes the Response.
func (c *cluster) ask(req task.Request) (task.Response, error) {
	if req.Cache == nil {
		// These tests are about dispatch: an answer from the cache that
		// the routers share in Redis would reach no executor.
		off := false
		req.Cache = &off
	}
	data, err := json.Marshal(req)
	if err != nil {
		return task.Response{}, err
	}
	msg, err := c.nc.Request(task.SubjectRequest, data, 30*time.Second)
	if err != nil {
		return task.Response{}, fmt.Errorf("requesting %q: %w", req.Input, err)
	}
	var resp task.Response
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return resp, fmt.Errorf("decoding the response to %q: %w\n%s", req.Input, err, msg.Data)
	}
	return resp, nil
}

// models runs `taskrouter models --redis URL` with extra flags.
func (c *cluster) models(args ...string) string {
	c.t.Helper()
	cmd := exec.Command(c.bin, append([]string{"models", "--redis", c.redisURL}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		c.t.Fatalf("taskrouter models: %v\n%s", err, out)
	}
	return string(out)
}

const (
	calcInput      = "What is 2+3?"
	sentimentInput = "What is the sentiment of this review: 'I love this phone, it is great.'"
)

// checkAnswer reports what is wrong with a response to calcInput or
// sentimentInput, or "".
func checkAnswer(input string, resp task.Response) string {
	if resp.Error != nil {
		return fmt.Sprintf("error %v", resp.Error)
	}
	if len(resp.Subtasks) != 1 || resp.Subtasks[0].Status != task.StatusDone {
		return fmt.Sprintf("subtasks %+v", resp.Subtasks)
	}
	wantModel := "local/calc"
	switch input {
	case sentimentInput:
		wantModel = "local/sentiment"
	case chatInput:
		wantModel = chatModel
	}
	if st := resp.Subtasks[0]; st.Model != wantModel || st.Executor == "" {
		return fmt.Sprintf("served by model %q executor %q, want %s", st.Model, st.Executor, wantModel)
	}
	if input == calcInput && !strings.Contains(resp.Answer, "5") {
		return fmt.Sprintf("answer %q lacks 5", resp.Answer)
	}
	if resp.Answer == "" {
		return "empty answer"
	}
	return ""
}

// loadResult is what a load run saw.
type loadResult struct {
	mu        sync.Mutex
	executors map[string]int
	failures  []string
	slowest   time.Duration
	retried   int // requests that needed more than one attempt
}

// runLoad sends n requests (every fourth a sentiment one) from workers
// goroutines; midway, after `at` requests completed, it calls midway once.
func (c *cluster) runLoad(n, workers, at int, midway func()) *loadResult {
	res := &loadResult{executors: map[string]int{}}
	var next, completed atomic.Int64
	reached := make(chan struct{})
	// The requests after the at-th wait until midway has begun: local
	// models answer in microseconds, and on a fast moment all of them
	// would be done before its signals land.
	gate := make(chan struct{})
	var reachOnce sync.Once
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1))
				if i > n {
					return
				}
				if i > at {
					<-gate
				}
				input := calcInput
				if i%4 == 0 {
					input = sentimentInput
				}
				start := time.Now()
				resp, err := c.ask(task.Request{Input: input})
				took := time.Since(start)
				res.mu.Lock()
				res.slowest = max(res.slowest, took)
				switch {
				case err != nil:
					res.failures = append(res.failures, err.Error())
				case checkAnswer(input, resp) != "":
					res.failures = append(res.failures, fmt.Sprintf("request %d (%s): %s", i, resp.ID, checkAnswer(input, resp)))
				default:
					res.executors[resp.Subtasks[0].Executor]++
					if resp.Subtasks[0].Attempts > 1 {
						res.retried++
					}
				}
				res.mu.Unlock()
				if completed.Add(1) == int64(at) {
					reachOnce.Do(func() { close(reached) })
				}
			}
		}()
	}
	select {
	case <-reached:
		time.AfterFunc(50*time.Millisecond, func() { close(gate) })
		midway()
	case <-time.After(30 * time.Second):
		close(gate)
		c.t.Errorf("only %d of %d requests completed in 30s", completed.Load(), at)
	}
	wg.Wait()
	return res
}

func (r *loadResult) served(p *proc) int {
	n := 0
	for id, count := range r.executors {
		if strings.Contains(id, p.idMark()) {
			n += count
		}
	}
	return n
}

// dbLockKey marks a database of the test Redis as taken by one test, so
// test runs side by side (several `go test` at once) never share one.
const dbLockKey = "taskrouter-test:lock"

// redisDB claims a free database of the test Redis (1 to 15; 0 is for the
// packages that use key prefixes), empties it, and returns its URL; the
// database is emptied and released when the test ends.
func redisDB(t *testing.T) string {
	t.Helper()
	base := os.Getenv("TASKROUTER_TEST_REDIS")
	if base == "" {
		base = "redis://127.0.0.1:6379"
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("TASKROUTER_TEST_REDIS %q: %v", base, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	token := fmt.Sprintf("%d-%s", os.Getpid(), t.Name())
	for db := 1; db <= 15; db++ {
		u.Path = "/" + strconv.Itoa(db)
		opt, err := redis.ParseURL(u.String())
		if err != nil {
			t.Fatal(err)
		}
		rdb := redis.NewClient(opt)
		// The lock outlives a crashed run by a few minutes at most.
		took, err := rdb.SetNX(ctx, dbLockKey, token, 10*time.Minute).Result()
		if err != nil {
			_ = rdb.Close()
			t.Fatalf("claiming database %d of %s (start redis-server, or set TASKROUTER_TEST_REDIS): %v", db, base, err)
		}
		if !took {
			_ = rdb.Close()
			continue
		}
		if err := emptyExceptLock(ctx, rdb); err != nil {
			t.Fatalf("emptying %s: %v", u, err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = rdb.FlushDB(ctx).Err() // releases the lock too
			_ = rdb.Close()
		})
		return u.String()
	}
	t.Fatalf("databases 1 to 15 of %s are all taken by other test runs (key %s)", base, dbLockKey)
	return ""
}

// emptyExceptLock deletes what an earlier run left in a claimed database.
func emptyExceptLock(ctx context.Context, rdb *redis.Client) error {
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		return err
	}
	keys = slices.DeleteFunc(keys, func(k string) bool { return k == dbLockKey })
	if len(keys) == 0 {
		return nil
	}
	return rdb.Del(ctx, keys...).Err()
}

// replicaKeys returns the members of tr:replicas that name executor p.
func replicaKeys(t *testing.T, redisURL string, p *proc) []string {
	t.Helper()
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	keys, err := rdb.HKeys(context.Background(), registry.DefaultKeyPrefix+"replicas").Result()
	if err != nil {
		t.Fatalf("reading replicas: %v", err)
	}
	var mine []string
	for _, k := range keys {
		if strings.Contains(k, p.idMark()) {
			mine = append(mine, k)
		}
	}
	return mine
}

func TestDistributedKillAndDrainLoseNoRequest(t *testing.T) {
	c := newCluster(t, redisDB(t))
	c.router("router", "  attempts: 4\n")
	e1 := c.executor("exec-1", "local/calc", "local/textstats")
	e2 := c.executor("exec-2", "local/calc", "local/textstats")
	c.executor("exec-3", "local/sentiment")
	c.waitReplicas(map[string]int{"local/calc": 2, "local/textstats": 2, "local/sentiment": 1}, 10*time.Second)
	c.waitRouted(calcInput, sentimentInput)

	// SIGKILL one replica under load: every request still completes. The
	// local models answer in microseconds, so the replica is first frozen
	// (SIGSTOP) for a moment to hold subtasks when it dies.
	res := c.runLoad(200, 16, 40, func() {
		e1.signal(t, syscall.SIGSTOP)
		time.Sleep(300 * time.Millisecond)
		e1.signal(t, syscall.SIGKILL)
	})
	if len(res.failures) > 0 {
		t.Fatalf("%d of 200 requests failed after SIGKILL of a replica, e.g. %s", len(res.failures), res.failures[0])
	}
	if res.served(e1) == 0 || res.served(e2) == 0 {
		t.Errorf("the replicas did not share the work: %v", res.executors)
	}
	t.Logf("SIGKILL: slowest request %s, %d retried; served %v", res.slowest, res.retried, res.executors)
	if res.retried == 0 {
		t.Errorf("no request was retried: the replica died with nothing in flight")
	}
	// Subtasks lost with a replica are no failure of the model: it must not
	// cool down while its other replica is healthy (its requests would
	// fail with model_unavailable), and no request waits long.
	if res.slowest >= 7*time.Second {
		t.Errorf("the slowest request took %s after SIGKILL of one replica", res.slowest)
	}
	if s := c.modelState("local/calc"); s.State != registry.StateReady {
		t.Errorf("local/calc is %s after losing one of two replicas, want %s (until %v)", s.State, registry.StateReady, s.CooldownUntil)
	}
	// A dead replica disappears within two heartbeat intervals (2 s) plus a
	// refresh; the bound is generous for a loaded machine.
	c.waitReplicas(map[string]int{"local/calc": 1, "local/textstats": 1}, 8*time.Second)

	// SIGTERM another under load: it drains, deregisters and exits 0.
	e4 := c.executor("exec-4", "local/calc", "local/textstats")
	c.waitReplicas(map[string]int{"local/calc": 2}, 10*time.Second)
	res = c.runLoad(200, 16, 40, func() { e2.signal(t, syscall.SIGTERM) })
	if len(res.failures) > 0 {
		t.Fatalf("%d of 200 requests failed while a replica drained, e.g. %s", len(res.failures), res.failures[0])
	}
	if res.served(e4) == 0 {
		t.Errorf("the replacement replica served nothing: %v", res.executors)
	}
	t.Logf("SIGTERM: slowest request %s, %d retried; served %v", res.slowest, res.retried, res.executors)
	if code := e2.exitCode(t, 15*time.Second); code != 0 {
		t.Fatalf("a draining executor exited %d, want 0", code)
	}
	if !strings.Contains(e2.out.String(), "draining") {
		t.Errorf("the executor did not say it was draining:\n%s", e2.out.String())
	}
	// Deregistered at once, not left to expire.
	if keys := replicaKeys(t, c.redisURL, e2); len(keys) > 0 {
		t.Errorf("a drained executor left its replicas in Redis: %v", keys)
	}
}

func TestDistributedModelsShowsLiveState(t *testing.T) {
	c := newCluster(t, redisDB(t))
	c.router("router", "")
	c.executor("exec-1", "local/calc")
	c.executor("exec-2", "local/calc")
	c.executor("exec-3", "local/sentiment")
	c.waitReplicas(map[string]int{"local/calc": 2, "local/sentiment": 1}, 10*time.Second)
	c.waitRouted(calcInput)
	for range 20 {
		resp, err := c.ask(task.Request{Input: calcInput})
		if err != nil || checkAnswer(calcInput, resp) != "" {
			t.Fatalf("request: %v %s", err, checkAnswer(calcInput, resp))
		}
	}
	// The router pushes its latency samples at its next refresh.
	var states []registry.ModelState
	deadline := time.Now().Add(5 * time.Second)
	for {
		states = nil
		if err := json.Unmarshal([]byte(c.models("--json")), &states); err != nil {
			t.Fatalf("models --json: %v", err)
		}
		if s := findState(states, "local/calc"); s != nil && s.LatencyEWMAms > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	calc, sent := findState(states, "local/calc"), findState(states, "local/sentiment")
	if calc == nil || sent == nil {
		t.Fatalf("models --json lacks local/calc or local/sentiment: %+v", states)
	}
	if len(calc.Replicas) != 2 || len(sent.Replicas) != 1 || calc.State != "ready" || sent.State != "ready" {
		t.Errorf("calc %d replicas %s, sentiment %d replicas %s; want 2 and 1, ready", len(calc.Replicas), calc.State, len(sent.Replicas), sent.State)
	}
	if calc.LatencyEWMAms <= 0 {
		t.Errorf("local/calc latency %.3f ms after 20 requests, want > 0", calc.LatencyEWMAms)
	}
	table := c.models()
	for _, want := range []string{"REPLICAS", "IN-FLIGHT", "LATENCY", "STATE"} {
		if !strings.Contains(table, want) {
			t.Errorf("models table lacks column %s:\n%s", want, table)
		}
	}
	line := tableLine(table, "local/calc")
	if f := strings.Fields(line); len(f) < 7 || f[3] != "2" || f[4] != "0" || !strings.HasSuffix(f[5], "ms") || f[6] != "ready" {
		t.Errorf("local/calc row %q, want 2 replicas, 0 in flight, a latency, ready", line)
	}
}

func findState(states []registry.ModelState, name string) *registry.ModelState {
	for i := range states {
		if states[i].Spec.Name == name {
			return &states[i]
		}
	}
	return nil
}

func tableLine(table, model string) string {
	for _, line := range strings.Split(table, "\n") {
		if strings.HasPrefix(line, model+" ") {
			return line
		}
	}
	return ""
}

// freePort returns a TCP port free at the time of the call.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startRedis starts a private redis-server without persistence on port
// and waits until it answers.
func startRedis(t *testing.T, port int) *proc {
	t.Helper()
	skipShort(t)
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is not installed: %v", err)
	}
	p := startProc(t, "redis-server", bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for rdb.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on port %d did not answer:\n%s", port, p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return p
}

func TestDistributedRoutingSurvivesRedisRestart(t *testing.T) {
	port := freePort(t)
	rs := startRedis(t, port)
	c := newCluster(t, fmt.Sprintf("redis://127.0.0.1:%d/0", port))
	r := c.router("router", "")
	c.executor("exec-1", "local/calc")
	c.waitReplicas(map[string]int{"local/calc": 1}, 10*time.Second)
	c.waitRouted(calcInput)

	// Crash Redis (no persistence: it comes back empty). Routing goes on
	// from the last snapshot for longer than a replica's ttl.
	rs.signal(t, syscall.SIGKILL)
	rs.exitCode(t, 5*time.Second)
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); {
		mustAnswer(t, c, calcInput)
		time.Sleep(100 * time.Millisecond)
	}

	// Restart it: executors re-register and the router reads Redis again.
	startRedis(t, port)
	c.waitReplicas(map[string]int{"local/calc": 1}, 10*time.Second)
	c.executor("exec-2", "local/sentiment") // known only through the new Redis
	c.waitReplicas(map[string]int{"local/sentiment": 1}, 10*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := c.ask(task.Request{Input: sentimentInput})
		if err == nil && checkAnswer(sentimentInput, resp) == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the router did not route to a model registered after the restart: %v %s", err, checkAnswer(sentimentInput, resp))
		}
		time.Sleep(100 * time.Millisecond)
	}
	mustAnswer(t, c, calcInput)
	if n := strings.Count(r.out.String(), "redis is unreachable"); n != 1 {
		t.Errorf("the router logged the outage %d times, want once", n)
	}
	if !strings.Contains(r.out.String(), "reachable again") {
		t.Errorf("the router did not log the recovery")
	}
}

func mustAnswer(t *testing.T, c *cluster, input string) {
	t.Helper()
	resp, err := c.ask(task.Request{Input: input})
	if err != nil {
		t.Fatal(err)
	}
	if msg := checkAnswer(input, resp); msg != "" {
		t.Fatalf("%q: %s", input, msg)
	}
}

// eventWatcher records which requests had their events published: router
// A publishes all, router B none, so it tells which router served one.
type eventWatcher struct {
	mu   sync.Mutex
	seen map[string]bool
}

func watchEvents(t *testing.T, nc *nats.Conn) *eventWatcher {
	t.Helper()
	w := &eventWatcher{seen: map[string]bool{}}
	sub, err := nc.Subscribe(task.SubjectEventsPrefix+">", func(m *nats.Msg) {
		var ev task.Event
		if json.Unmarshal(m.Data, &ev) == nil {
			w.mu.Lock()
			w.seen[ev.RequestID] = true
			w.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = sub.SetPendingLimits(-1, -1)
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return w
}

// servedByA reports whether router A served the request, once its events
// had time to arrive.
func (w *eventWatcher) servedByA(nc *nats.Conn, id string) bool {
	_ = nc.Flush()
	time.Sleep(50 * time.Millisecond)
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seen[id]
}

// waitBothRouters sends input until router A and router B have each
// answered it correctly: each router's snapshot of the registry lags Redis
// by up to one refresh interval.
func (c *cluster) waitBothRouters(events *eventWatcher, input string) {
	c.t.Helper()
	const within = 15 * time.Second
	served := map[bool]bool{}
	deadline := time.Now().Add(within)
	for i := 0; !served[true] || !served[false]; i++ {
		if time.Now().After(deadline) {
			c.t.Fatalf("both routers did not answer %q within %s (answered by A: %v, by B: %v)", input, within, served[true], served[false])
		}
		id := fmt.Sprintf("ready-%d-%d", len(input), i)
		resp, err := c.ask(task.Request{ID: id, Input: input})
		if err == nil && checkAnswer(input, resp) == "" {
			served[events.servedByA(c.nc, id)] = true
			continue
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// retryAfter is what the upstream's 429 asks; longer than the registry's
// default cooldown period (5 s) and within its cap (30 s), so the shared
// cooldown is the upstream's.
const retryAfter = 12 * time.Second

func TestDistributedTwoRoutersShareLoadAndCooldown(t *testing.T) {
	upstream := openaitest.New(openaitest.WithAPIKey(upstreamKey))
	t.Cleanup(upstream.Close)
	upstream.Script(chatModel, openaitest.Behaviour{Reply: upstreamReplyOK})
	c := newCluster(t, redisDB(t))
	events := watchEvents(t, c.nc)
	routers := map[bool]*proc{ // by whether it is router A
		true:  c.router("router-a", "  attempts: 3\n  events: all\n"),
		false: c.router("router-b", "  attempts: 3\n"),
	}
	c.executor("exec-calc", "local/calc")
	c.chatExecutor("exec-chat", upstream.URL())
	c.waitReplicas(map[string]int{"local/calc": 1, chatModel: 1}, 15*time.Second)
	c.waitBothRouters(events, calcInput)
	c.waitBothRouters(events, chatInput)

	// Both routers take requests from the queue group.
	byA := 0
	for i := range 40 {
		id, input := fmt.Sprintf("share-%d", i), calcInput
		if i%2 == 1 {
			input = chatInput
		}
		resp, err := c.ask(task.Request{ID: id, Input: input})
		if err != nil || checkAnswer(input, resp) != "" {
			t.Fatalf("request %s: %v %s", id, err, checkAnswer(input, resp))
		}
		if events.servedByA(c.nc, id) {
			byA++
		}
	}
	if byA == 0 || byA == 40 {
		t.Fatalf("router A served %d of 40 requests; both routers should serve some", byA)
	}

	// The upstream answers the next call with 429 and Retry-After: the
	// router that gets it cools the model down and shares that in Redis. The
	// request's short timeout ends it before the cooldown does.
	upstream.Script(chatModel, openaitest.Behaviour{Reply: upstreamReplyOK, Fail: openaitest.FailRateLimit, FailFirst: 1, RetryAfter: retryAfter})
	pinned := task.Hints{Model: chatModel}
	sent := time.Now()
	resp, err := c.ask(task.Request{ID: "cool-1", Input: chatInput, Hints: pinned, TimeoutMs: 1000})
	if err != nil || resp.Error == nil {
		t.Fatalf("a request answered with 429 and cut short by its timeout: err %v, response error %v; want a failure", err, resp.Error)
	}
	if n := upstream.Calls(chatModel); n != 1 {
		t.Fatalf("the upstream got %d calls for the rate-limited request, want 1", n)
	}
	var shared registry.ModelState
	waitFor(t, 5*time.Second, chatModel+" in cooldown in the registry", func() bool {
		shared = c.modelState(chatModel)
		return shared.State == registry.StateCooldown
	})
	sharedAt := time.Now()
	until := shared.CooldownUntil
	if until.Sub(sent) < retryAfter-time.Second {
		t.Fatalf("the shared cooldown ends %s after the 429, want about its Retry-After of %s", until.Sub(sent), retryAfter)
	}
	if line := tableLine(c.models(), chatModel); !strings.Contains(line, "cooldown") {
		t.Errorf("taskrouter models does not show the cooldown: %q", line)
	}

	// The router that set the cooldown drains and leaves, so the next
	// request goes to the other one, which learned the cooldown from Redis.
	setter := routers[events.servedByA(c.nc, "cool-1")]
	other := routers[!events.servedByA(c.nc, "cool-1")]
	setter.signal(t, syscall.SIGTERM)
	if code := setter.exitCode(t, 15*time.Second); code != 0 {
		t.Fatalf("%s exited %d after SIGTERM, want 0", setter.name, code)
	}
	// The other router refreshes its snapshot every 500 ms: nothing shows
	// when it has, so give it three refreshes after Redis had the cooldown.
	time.Sleep(time.Until(sharedAt.Add(1500 * time.Millisecond)))
	const margin = 2 * time.Second // clocks, scheduling on a loaded machine
	if time.Until(until) < 2*margin {
		t.Fatalf("the setup took until %s before the cooldown's end; too little left to watch the other router wait", time.Until(until))
	}

	// While the shared cooldown lasts, the other router does not call the
	// upstream, nor make the request wait: it answers at once that the
	// model is unavailable, why, and when to retry.
	resp, err = c.ask(task.Request{ID: "cool-2", Input: chatInput, Hints: pinned})
	left := time.Until(until)
	if err != nil {
		t.Fatalf("cool-2: %v", err)
	}
	e := resp.Error
	if e == nil || e.Code != task.CodeModelUnavailable || !strings.Contains(e.Message, "rate_limited") || !strings.Contains(e.Message, chatModel) {
		t.Fatalf("%s during the shared cooldown: error %v; want %s naming %s and the 429", other.name, e, task.CodeModelUnavailable, chatModel)
	}
	if e.RetryAfter() < left-margin || e.RetryAfter() > left+margin {
		t.Errorf("%s said retry after %v, %v before the shared cooldown ends", other.name, e.RetryAfter(), left)
	}
	if n := upstream.Calls(chatModel); n != 1 {
		t.Fatalf("%s called the upstream during the shared cooldown (%d calls)", other.name, n)
	}
	if byA := events.servedByA(c.nc, "cool-2"); byA != (other == routers[true]) {
		t.Errorf("cool-2 was not served by %s", other.name)
	}
	// A client that honours Retry-After is served: its request is the
	// probe that closes the circuit.
	time.Sleep(e.RetryAfter())
	waitFor(t, 30*time.Second, "an answer after the cooldown", func() bool {
		resp, err := c.ask(task.Request{Input: chatInput, Hints: pinned})
		return err == nil && checkAnswer(chatInput, resp) == ""
	})
	if n := upstream.Calls(chatModel); n != 2 {
		t.Errorf("the upstream got %d calls, want 2: the 429 and the probe after the cooldown", n)
	}
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
