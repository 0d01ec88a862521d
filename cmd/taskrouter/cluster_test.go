package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/task"
)

// natsCluster starts n nats-server processes clustered on loopback, as
// `taskrouter nats-config --cluster n` configures them for users, and
// returns their client URLs and processes.
func natsCluster(t *testing.T, bin string, n int, users string, env []string) ([]string, []*proc) {
	t.Helper()
	server := natsServerBinary(t)
	dir := t.TempDir()
	var clients, routes []string
	for range n {
		clients = append(clients, fmt.Sprintf("127.0.0.1:%d", freePort(t)))
		routes = append(routes, fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	}
	cfg := filepath.Join(dir, "taskrouter.yaml")
	if err := os.WriteFile(cfg, []byte("nats:\n  store_dir: "+filepath.Join(dir, "js")+"\n"+users), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "nats-config", "--config", cfg, "--cluster", fmt.Sprint(n), "--listen", strings.Join(clients, ","),
		"--routes", strings.Join(routes, ","), "--out", filepath.Join(dir, "conf")).CombinedOutput()
	if err != nil {
		t.Fatalf("taskrouter nats-config --cluster: %v\n%s", err, out)
	}
	var urls []string
	var procs []*proc
	for i := range n {
		name := fmt.Sprintf("taskrouter-%d", i+1)
		p := startProcEnv(t, name, env, server, "-c", filepath.Join(dir, "conf", name+".conf"))
		procs = append(procs, p)
		urls = append(urls, "nats://"+clients[i])
	}
	for _, p := range procs {
		p.waitOutput(t, "Server is ready", 30*time.Second)
	}
	return urls, procs
}

// setUpCluster runs `taskrouter nats-setup` until the JetStream cluster
// has elected its leader and takes the streams.
func (s *durableSite) setUpCluster(url, natsExtra string) string {
	s.t.Helper()
	cfg := s.routerConfig("setup", url, natsExtra)
	var out string
	waitUntil(s.t, 90*time.Second, "nats-setup on the new cluster", func() bool {
		p := startProcEnv(s.t, "nats-setup", durableEnv, s.bin, "nats-setup", "--config", cfg)
		code := p.exitCode(s.t, 60*time.Second)
		out = p.out.String()
		return code == 0
	})
	return out
}

// chatCall is one chat completion of the HTTP load.
type chatCall struct {
	router     string
	start, end time.Time
	status     int
	code       string // the error's code, or "" for an answer
	err        error  // no answer at all
}

// httpLoad sends chat completions from workers goroutines, alternating
// between the routers' HTTP APIs, until stop is closed, each checked to
// answer its own question.
func httpLoad(routers map[string]string, workers int, stop <-chan struct{}) func() []chatCall {
	var mu sync.Mutex
	var calls []chatCall
	var wg sync.WaitGroup
	names := make([]string, 0, len(routers))
	for name := range routers {
		names = append(names, name)
	}
	sort.Strings(names)
	client := &http.Client{Timeout: 60 * time.Second}
	for w := range workers {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := names[(w+i)%len(names)]
				c := chatOnce(client, routers[name], fmt.Sprintf("http %d-%d", w, i))
				c.router = name
				mu.Lock()
				calls = append(calls, c)
				mu.Unlock()
			}
		})
	}
	return func() []chatCall {
		wg.Wait()
		return calls
	}
}

func chatOnce(client *http.Client, base, content string) chatCall {
	c := chatCall{start: time.Now()}
	body, _ := json.Marshal(map[string]any{"model": chatModel, "messages": []map[string]string{{"role": "user", "content": content}}})
	resp, err := client.Post(base+"/v1/chat/completions", "application/json", bytes.NewReader(body))
	c.end = time.Now()
	if err != nil {
		c.err = err
		return c
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	c.status = resp.StatusCode
	var answer struct {
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(data, &answer)
	switch {
	case resp.StatusCode != http.StatusOK:
		c.code = answer.Error.Code
	case len(answer.Choices) != 1 || answer.Choices[0].Message.Content != "reply to "+content:
		c.code, c.err = "wrong_answer", fmt.Errorf("the answer to %q: %s", content, data)
	}
	return c
}

// durableOutcome is what the producer of durableLoad saw.
type durableOutcome struct {
	retries int           // publications that failed and were retried
	slowest time.Duration // the longest a request took to be acknowledged
	acked   []time.Time   // when each request was acknowledged
}

// durableLoad publishes n durable requests, rate a second, each retried
// with its message id until JetStream acknowledges it, as a producer that
// must not lose work does.
func durableLoad(t *testing.T, nc *nats.Conn, producer string, n int, rate int) durableOutcome {
	var o durableOutcome
	js, err := jetstream.New(nc)
	if err != nil {
		t.Error(err)
		return o
	}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for i := range n {
		<-tick.C
		start := time.Now()
		body := fmt.Sprintf(`{"model": %q, "input": "question %d"}`, chatModel, i)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, err := js.Publish(ctx, task.JobsSubject(producer), []byte(body), jetstream.WithMsgID(fmt.Sprintf("order-%d", i)))
			cancel()
			if err == nil {
				break
			}
			o.retries++
			if time.Since(start) > 60*time.Second {
				t.Errorf("durable request %d not acknowledged within 60s: %v", i, err)
				return o
			}
			time.Sleep(100 * time.Millisecond)
		}
		o.slowest = max(o.slowest, time.Since(start))
		o.acked = append(o.acked, time.Now())
	}
	return o
}

// reportDurable logs how long results took after their requests were
// acknowledged: at most, and at most for those acknowledged before the
// kill and after it.
func reportDurable(t *testing.T, o durableOutcome, tally *resultTally, producer string, killedAt time.Time) {
	t.Helper()
	var most, before, after time.Duration
	var late string
	for i, acked := range o.acked {
		id := fmt.Sprintf("order-%d", i)
		at, ok := tally.arrived(task.ResultSubject(producer, id))
		if !ok {
			continue // published while the producer's connection moved; the stream has it
		}
		d := at.Sub(acked)
		if d > most {
			most, late = d, fmt.Sprintf("%s, acknowledged %s after the kill", id, acked.Sub(killedAt).Round(time.Millisecond))
		}
		if acked.Before(killedAt) {
			before = max(before, d)
		} else {
			after = max(after, d)
		}
	}
	subjects, messages := tally.count()
	t.Logf("durable requests: %d acknowledged, %d publications retried, slowest acknowledged after %s; results received live %d (on %d subjects); "+
		"result after acknowledgement at most %s (%s); at most %s for requests acknowledged before the kill, %s after",
		len(o.acked), o.retries, o.slowest.Round(time.Millisecond), messages, subjects, most.Round(time.Millisecond), late,
		before.Round(time.Millisecond), after.Round(time.Millisecond))
}

// leaders names the servers leading taskrouter's streams.
func leaders(t *testing.T, nc *nats.Conn) map[string]string {
	t.Helper()
	js, _ := jetstream.New(nc)
	out := map[string]string{}
	for _, name := range []string{bus.JobsStream, bus.ResultsStream, "KV_" + jobsBucket, "KV_" + webhooksBucket} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s, err := js.Stream(ctx, name)
		cancel()
		if err != nil {
			t.Fatalf("stream %s: %v", name, err)
		}
		info := s.CachedInfo()
		if info.Config.Replicas != 3 || info.Cluster == nil {
			t.Fatalf("stream %s has %d replicas, want 3", name, info.Config.Replicas)
		}
		out[name] = info.Cluster.Leader
	}
	return out
}

// jobCall is one POST /v1/jobs of the jobs load.
type jobCall struct {
	content    string
	id         string
	start, end time.Time
	status     int
	err        error
}

// jobsLoad creates a job naming the upstream model every interval,
// alternating between the routers, until stop is closed.
func jobsLoad(routers []string, interval time.Duration, stop <-chan struct{}) func() []jobCall {
	var calls []jobCall
	done := make(chan struct{})
	client := &http.Client{Timeout: 60 * time.Second}
	go func() {
		defer close(done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			c := jobCall{content: fmt.Sprintf("job %d", i), start: time.Now()}
			body, _ := json.Marshal(map[string]any{"model": chatModel, "input": c.content})
			resp, err := client.Post(routers[i%len(routers)]+"/v1/jobs", "application/json", bytes.NewReader(body))
			c.end, c.err = time.Now(), err
			if err == nil {
				var j struct{ ID string }
				_ = json.NewDecoder(resp.Body).Decode(&j)
				_ = resp.Body.Close()
				c.status, c.id = resp.StatusCode, j.ID
			}
			calls = append(calls, c)
		}
	}()
	return func() []jobCall {
		<-done
		return calls
	}
}

// reportJobs checks that every accepted job ended with its answer, and
// logs the refusals around the kill.
func reportJobs(t *testing.T, calls []jobCall, base string, killedAt time.Time) {
	t.Helper()
	var refused []string
	var slowest time.Duration
	for _, c := range calls {
		slowest = max(slowest, c.end.Sub(c.start))
		if c.err != nil || c.status != http.StatusAccepted {
			at := c.start.Sub(killedAt)
			refused = append(refused, fmt.Sprintf("%d %v at %s", c.status, c.err, at.Round(time.Millisecond)))
			if c.status != http.StatusServiceUnavailable || at < -time.Second || at > 30*time.Second {
				t.Errorf("POST /v1/jobs %s from the kill: %d %v, want a 503 while NATS fails over, or a job", at.Round(time.Millisecond), c.status, c.err)
			}
			continue
		}
		var j map[string]any
		waitUntil(t, 60*time.Second, "job "+c.id+" to end", func() bool {
			j = getJob(t, base, c.id)
			return j["status"] == "done" || j["status"] == "failed"
		})
		if j["status"] != "done" || j["answer"] != "reply to "+c.content {
			t.Errorf("job %s (%s): %v", c.id, c.content, j)
		}
	}
	t.Logf("jobs: %d created, %d refused %v; slowest POST /v1/jobs %s", len(calls), len(refused), refused, slowest.Round(time.Millisecond))
}

// leadOn makes server the leader of streams, by asking their leaders to
// step down until it is elected (nats-server 2.9 cannot be told whom to
// elect).
func leadOn(t *testing.T, nc *nats.Conn, server string, streams ...string) {
	t.Helper()
	for _, name := range streams {
		waitUntil(t, 60*time.Second, name+" led by "+server, func() bool {
			if leaders(t, nc)[name] == server {
				return true
			}
			_, _ = nc.Request("$JS.API.STREAM.LEADER.STEPDOWN."+name, nil, 5*time.Second)
			time.Sleep(500 * time.Millisecond)
			return leaders(t, nc)[name] == server
		})
	}
}

// Three nats-server processes clustered on loopback, JetStream replicated
// three ways; two routers and two executors spread over the nodes; under
// a load of chat completions over HTTP and durable requests, one NATS
// node is SIGKILLed. No durable request is lost or answered twice; every
// chat completion gets an answer, an error only while the node's clients
// move to the others. The figures go to the README.
func TestDistributedNATSClusterLosesANode(t *testing.T) {
	skipShort(t)
	bin := taskrouterBinary(t)
	up := openaitest.New(openaitest.WithAPIKey(upstreamKey))
	t.Cleanup(up.Close)
	urls, nodes := natsCluster(t, bin, 3, durableUsers, durableEnv)
	s := &durableSite{t: t, bin: bin, urls: urls, redisURL: redisDB(t), up: up, dir: t.TempDir()}
	s.scriptUpstream(100 * time.Millisecond)
	extra := "  replicas: 3\n  durable:\n    ack_wait: 5s\n"
	if out := s.setUpCluster(urls[1], extra); !strings.Contains(out, "replicas 3") {
		t.Fatalf("nats-setup on the cluster:\n%s", out)
	}
	// Processes take the nodes in turn: router-a and exec-2 on node 1,
	// router-b on node 2, exec-1 on node 3.
	ra := s.router("router-a", extra)
	rb := s.router("router-b", extra)
	s.executor("exec-1")
	s.executor("exec-2")
	routers := map[string]string{"router-a": httpBase(t, ra), "router-b": httpBase(t, rb)}
	client := &http.Client{Timeout: 30 * time.Second}
	for name, base := range routers {
		waitUntil(t, 30*time.Second, name+" answering", func() bool { return chatOnce(client, base, "warm up").code == "" })
	}
	all := strings.Join(urls, ",")
	prod, admin := s.producer(all), s.admin(strings.Join(urls[1:], ","))
	// The node to kill leads the jobs bucket, the work queue and the
	// results stream, besides serving router-a and exec-2.
	leadOn(t, admin, "taskrouter-1", "KV_"+jobsBucket, bus.JobsStream, bus.ResultsStream)
	t.Logf("stream leaders before the kill: %v", leaders(t, admin))

	const n, rate = 300, 20
	stop := make(chan struct{})
	calls := httpLoad(routers, 6, stop)
	jobCalls := jobsLoad([]string{routers["router-a"], routers["router-b"]}, 100*time.Millisecond, stop)
	tally := follow(t, prod, "billing-app")
	published := make(chan durableOutcome, 1)
	go func() { published <- durableLoad(t, prod, "billing-app", n, rate) }()
	time.Sleep(5 * time.Second)
	killedAt := time.Now()
	nodes[0].signal(t, syscall.SIGKILL)
	nodes[0].exitCode(t, 10*time.Second)
	time.Sleep(15 * time.Second)
	close(stop)
	http := calls()
	pub := <-published
	waitUntil(t, 180*time.Second, "every durable request's result", func() bool {
		per, queued := resultsPerSubject(t, admin)
		return len(per) == n && queued == 0
	})
	checkResults(t, prod, admin, "billing-app", n)
	t.Logf("stream leaders after the kill: %v", leaders(t, admin))
	reportHTTP(t, http, killedAt)
	reportJobs(t, jobCalls(), routers["router-b"], killedAt)
	for _, p := range []*proc{ra, rb} {
		for _, line := range strings.Split(p.out.String(), "\n") {
			if strings.Contains(line, "NATS connection") || strings.Contains(line, "retrying") {
				t.Logf("%s: %s", p.name, line)
			}
		}
	}
	t.Logf("killed node 1 at %s", killedAt.Format(time.RFC3339Nano))
	reportDurable(t, pub, tally, "billing-app", killedAt)
}

// reportHTTP checks the chat completions around the kill and logs what a
// client saw: every request answered; errors only as 503 unavailable (or
// a lost subtask's error) within 30 s of the kill.
func reportHTTP(t *testing.T, calls []chatCall, killedAt time.Time) {
	t.Helper()
	var errs []chatCall
	var slowest time.Duration
	byCode := map[string]int{}
	for _, c := range calls {
		if c.err != nil && c.code == "" {
			t.Errorf("a chat completion to %s got no answer: %v", c.router, c.err)
			continue
		}
		if c.code == "wrong_answer" {
			t.Errorf("%s: %v", c.router, c.err)
			continue
		}
		slowest = max(slowest, c.end.Sub(c.start))
		if c.code != "" {
			errs = append(errs, c)
			byCode[fmt.Sprintf("%s %d %s", c.router, c.status, c.code)]++
		}
	}
	var first, last time.Duration
	for i, c := range errs {
		at := c.start.Sub(killedAt)
		if i == 0 || at < first {
			first = at
		}
		last = max(last, c.end.Sub(killedAt))
		if at < -time.Second || at > 30*time.Second {
			t.Errorf("a chat completion to %s failed %s from the kill: %d %s", c.router, at.Round(time.Millisecond), c.status, c.code)
		}
	}
	t.Logf("chat completions: %d, %d errors %v, first sent %s after the kill, last answered %s after it; slowest answer %s",
		len(calls), len(errs), byCode, first.Round(time.Millisecond), last.Round(time.Millisecond), slowest.Round(time.Millisecond))
	if len(calls) == 0 || errors.Is(context.Background().Err(), context.Canceled) {
		t.Fatal("no chat completions were sent")
	}
}
