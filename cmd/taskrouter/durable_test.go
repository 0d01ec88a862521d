package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/taskrouter/taskrouter/adapters/durable"
	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/task"
)

// durableUsers are the NATS users of the durable requests' tests: a
// router, an executor of the scripted upstream model, a producer.
const durableUsers = "  users:\n" +
	"    - {name: router-1, password_env: DURABLE_ROUTER_PW, role: router}\n" +
	"    - {name: exec-chat, password_env: DURABLE_EXEC_PW, role: executor, models: [" + chatModel + "]}\n" +
	"    - {name: billing-app, password_env: DURABLE_PRODUCER_PW, role: producer}\n"

var durableEnv = []string{"DURABLE_ROUTER_PW=pw-router", "DURABLE_EXEC_PW=pw-exec", "DURABLE_PRODUCER_PW=pw-producer",
	upstreamKeyEnv + "=" + upstreamKey}

// durableSite is a nats-server with durableUsers, Redis, a scripted
// upstream model, and the config files of the processes on them.
type durableSite struct {
	t        *testing.T
	bin      string
	urls     []string // the NATS servers; processes take them in turn
	redisURL string
	up       *openaitest.Server
	dir      string
	next     int
}

func (s *durableSite) write(name, content string) string {
	s.t.Helper()
	path := filepath.Join(s.dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		s.t.Fatal(err)
	}
	return path
}

// url is the NATS URL of the next process: one node of a cluster after
// another, so that routers and executors sit on different nodes.
func (s *durableSite) url() string {
	u := s.urls[s.next%len(s.urls)]
	s.next++
	return u
}

// routerConfig is a router's config on url; extra goes under nats:.
func (s *durableSite) routerConfig(name, url, natsExtra string) string {
	return s.write(name+".yaml", fmt.Sprintf("nats:\n  url: %s\n  user: router-1\n  password_env: DURABLE_ROUTER_PW\n%s"+
		"redis:\n  url: %s\nhttp:\n  addr: 127.0.0.1:0\n  jobs:\n    store: jetstream\n    workers: 4\nexecutors: []\n"+
		"router:\n  accept_timeout: 1s\n  lost_after: 2s\nlog:\n  level: info\n", url, natsExtra, s.redisURL))
}

// router starts `taskrouter serve` as router-1.
func (s *durableSite) router(name, natsExtra string) *proc {
	s.t.Helper()
	p := startProcEnv(s.t, name, durableEnv, s.bin, "serve", "--config", s.routerConfig(name, s.url(), natsExtra))
	p.waitOutput(s.t, "taskrouter serving", 60*time.Second)
	return p
}

// executor starts `taskrouter executor` of the upstream model as exec-chat.
func (s *durableSite) executor(name string) *proc {
	s.t.Helper()
	cfg := s.write(name+".yaml", fmt.Sprintf("nats:\n  user: exec-chat\n  password_env: DURABLE_EXEC_PW\n"+
		"models:\n  - name: %s\n    backend: openai\n    base_url: %s\n    api_key_env: %s\n    capabilities: [chat]\n"+
		"    context_window: 8000\n    max_output_tokens: 500\n    concurrency: 64\n", chatModel, s.up.URL(), upstreamKeyEnv))
	p := startProcEnv(s.t, name, durableEnv, s.bin, "executor", "--config", cfg, "--nats", s.url(), "--redis", s.redisURL, "--models", chatModel)
	p.waitOutput(s.t, "taskrouter executor serving", 60*time.Second)
	return p
}

// producer connects as billing-app, with its inbox prefix.
func (s *durableSite) producer(url string) *nats.Conn {
	s.t.Helper()
	nc, err := nats.Connect(url, nats.UserInfo("billing-app", "pw-producer"), nats.CustomInboxPrefix(bus.InboxPrefix("billing-app")),
		nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		s.t.Fatalf("connecting as the producer: %v", err)
	}
	s.t.Cleanup(nc.Close)
	return nc
}

// admin connects as router-1, to look at the streams.
func (s *durableSite) admin(url string) *nats.Conn {
	s.t.Helper()
	nc, err := nats.Connect(url, nats.UserInfo("router-1", "pw-router"), nats.CustomInboxPrefix(bus.RouterInboxPrefix),
		nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		s.t.Fatalf("connecting as the router user: %v", err)
	}
	s.t.Cleanup(nc.Close)
	return nc
}

// scriptUpstream makes the upstream model answer "reply to <input>" after
// latency.
func (s *durableSite) scriptUpstream(latency time.Duration) {
	s.up.Script(chatModel, openaitest.Behaviour{Latency: latency, ReplyFunc: func(msgs []task.Message) string {
		if len(msgs) == 0 {
			return "reply to nothing"
		}
		return "reply to " + msgs[len(msgs)-1].Content
	}})
}

// resultTally counts the results a producer receives live, per subject,
// with when the first of each arrived.
type resultTally struct {
	mu    sync.Mutex
	got   map[string]int
	first map[string]time.Time
}

// arrived is when the first result on subject arrived.
func (r *resultTally) arrived(subject string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	at, ok := r.first[subject]
	return at, ok
}

func (r *resultTally) count() (subjects, messages int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.got {
		subjects, messages = subjects+1, messages+n
	}
	return subjects, messages
}

// follow subscribes the producer to its results.
func follow(t *testing.T, nc *nats.Conn, producer string) *resultTally {
	t.Helper()
	r := &resultTally{got: map[string]int{}, first: map[string]time.Time{}}
	if _, err := nc.Subscribe(task.ResultSubject(producer, ">"), func(m *nats.Msg) {
		r.mu.Lock()
		r.got[m.Subject]++
		if _, ok := r.first[m.Subject]; !ok {
			r.first[m.Subject] = time.Now()
		}
		r.mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return r
}

// publishDurable publishes n requests naming the upstream model, ids
// order-<i>, as the producer, each acknowledged and none a duplicate.
func publishDurable(t *testing.T, nc *nats.Conn, producer string, from, n int) {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	for i := from; i < from+n; i++ {
		body := fmt.Sprintf(`{"model": %q, "input": "question %d"}`, chatModel, i)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ack, err := js.Publish(ctx, task.JobsSubject(producer), []byte(body), jetstream.WithMsgID(fmt.Sprintf("order-%d", i)))
		cancel()
		if err != nil || ack.Duplicate || ack.Stream != bus.JobsStream {
			t.Fatalf("publishing durable request %d: %+v, %v", i, ack, err)
		}
	}
}

// resultsPerSubject is how many messages the results stream holds per
// subject, and how many requests are left in the work queue.
func resultsPerSubject(t *testing.T, nc *nats.Conn) (map[string]uint64, uint64) {
	t.Helper()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rs, err := js.Stream(ctx, bus.ResultsStream)
	if err != nil {
		t.Fatalf("reading %s: %v", bus.ResultsStream, err)
	}
	info, err := rs.Info(ctx, jetstream.WithSubjectFilter(task.SubjectResultsPrefix+">"))
	if err != nil {
		t.Fatalf("reading %s: %v", bus.ResultsStream, err)
	}
	q, err := js.Stream(ctx, bus.JobsStream)
	if err != nil {
		t.Fatalf("reading %s: %v", bus.JobsStream, err)
	}
	return info.State.Subjects, q.CachedInfo().State.Msgs
}

// checkResults reads every result with the producer's own permissions
// and checks it answers its request, and that the stream holds exactly
// one result per request and the work queue none.
func checkResults(t *testing.T, prod, admin *nats.Conn, producer string, n int) {
	t.Helper()
	for i := range n {
		id := fmt.Sprintf("order-%d", i)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		resp, err := durable.GetResult(ctx, prod, producer, id)
		cancel()
		want := fmt.Sprintf("reply to question %d", i)
		if err != nil || resp.ID != id || resp.Error != nil || resp.Answer != want || resp.Model != chatModel {
			t.Fatalf("result of %s: %+v, %v; want %q", id, resp, err, want)
		}
	}
	perSubject, queued := resultsPerSubject(t, admin)
	if len(perSubject) != n || queued != 0 {
		t.Fatalf("%d result subjects for %d requests, %d requests left in the queue", len(perSubject), n, queued)
	}
	for subject, c := range perSubject {
		if c != 1 {
			t.Errorf("%d results on %s", c, subject)
		}
	}
}

var httpBaseRe = regexp.MustCompile(`HTTP API (http://[0-9.:]+)/v1`)

// httpBase is the HTTP API of a serve process, from the line it prints.
func httpBase(t *testing.T, p *proc) string {
	t.Helper()
	m := httpBaseRe.FindStringSubmatch(p.out.String())
	if m == nil {
		t.Fatalf("%s printed no HTTP API address:\n%s", p.name, p.out.String())
	}
	return m[1]
}

// getJob reads GET /v1/jobs/{id}.
func getJob(t *testing.T, base, id string) map[string]any {
	t.Helper()
	resp, err := http.Get(base + "/v1/jobs/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var j map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&j); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/jobs/%s: %d %v %v", id, resp.StatusCode, j, err)
	}
	return j
}

func waitUntil(t *testing.T, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !ok(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s in vain for %s", timeout, what)
		}
	}
}

// 100 durable requests published while no router runs are acknowledged
// at once; a router started later runs them and is SIGKILLed midway;
// another router finishes: 100 results, each once (in the stream and to
// a live subscriber), every one readable by its producer alone, and
// every request's job at GET /v1/jobs/{id}.
func TestDistributedDurableRequestsSurviveARouterKill(t *testing.T) {
	skipShort(t)
	bin := taskrouterBinary(t)
	up := openaitest.New(openaitest.WithAPIKey(upstreamKey))
	t.Cleanup(up.Close)
	url := natsServerWith(t, bin, durableUsers, durableEnv)
	s := &durableSite{t: t, bin: bin, urls: []string{url}, redisURL: redisDB(t), up: up, dir: t.TempDir()}
	s.scriptUpstream(250 * time.Millisecond)
	const n = 100
	extra := "  durable:\n    ack_wait: 2s\n"

	setup := startProcEnv(t, "nats-setup", durableEnv, bin, "nats-setup", "--config", s.routerConfig("setup", url, extra))
	if code := setup.exitCode(t, 60*time.Second); code != 0 || !strings.Contains(setup.out.String(), "consumer taskrouter on TR_JOBS") {
		t.Fatalf("taskrouter nats-setup: exit %d\n%s", code, setup.out.String())
	}
	prod, admin := s.producer(url), s.admin(url)
	tally := follow(t, prod, "billing-app")
	publishDurable(t, prod, "billing-app", 0, n)

	s.executor("executor")
	first := s.router("router-a", extra)
	waitUntil(t, 60*time.Second, "a quarter of the results", func() bool { got, _ := tally.count(); return got >= n/4 })
	first.signal(t, syscall.SIGKILL)
	first.exitCode(t, 10*time.Second)
	if got, _ := tally.count(); got >= n {
		t.Fatalf("all %d results were in before the kill; the test killed no router midway", got)
	}
	second := s.router("router-b", extra)
	waitUntil(t, 120*time.Second, "100 results", func() bool { got, _ := tally.count(); return got == n })
	waitUntil(t, 30*time.Second, "the work queue to empty", func() bool { _, q := resultsPerSubject(t, admin); return q == 0 })
	checkResults(t, prod, admin, "billing-app", n)
	time.Sleep(500 * time.Millisecond) // room for a second publication to arrive
	if subjects, messages := tally.count(); subjects != n || messages != n {
		t.Fatalf("the producer received %d results on %d subjects, want %d once each", messages, subjects, n)
	}
	base, takenOver := httpBase(t, second), 0
	for i := range n {
		j := getJob(t, base, fmt.Sprintf("order-%d", i))
		if j["status"] != "done" || j["source"] != "nats:billing-app" {
			t.Fatalf("job order-%d: %v", i, j)
		}
		if tk, _ := j["takeovers"].(float64); tk > 0 {
			takenOver++
		}
	}
	if takenOver == 0 {
		t.Errorf("no job was taken over from the killed router: it held none midway")
	}
	t.Logf("%d of %d jobs were taken over from the killed router; upstream calls %d", takenOver, n, up.Calls(chatModel))
	nodeDurableProducer(t, url)
}

// nodeDurableProducer publishes a durable request with the nats npm
// client's JetStream API and reads its result with a direct get, as
// producer billing-app; it is refused another producer's result.
func nodeDurableProducer(t *testing.T, url string) {
	t.Helper()
	node := installNodePackage(t, "testdata/natsnode", "nats")
	cmd := exec.Command(node, "durable.mjs")
	cmd.Dir = "testdata/natsnode"
	cmd.Env = append(os.Environ(), "NATS_URL="+url, "NATS_USER=billing-app", "NATS_PASS=pw-producer",
		"MODEL="+chatModel, "INPUT=question from node", "ID=node-1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node durable producer: %v\n%s", err, stderr.String())
	}
	var rep struct {
		Stream    string
		Duplicate bool
		ID        string
		Answer    string
		Error     any
		Refused   string
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("node durable producer printed %s: %v", out, err)
	}
	if rep.Stream != bus.JobsStream || !rep.Duplicate || rep.ID != "node-1" || rep.Answer != "reply to question from node" ||
		rep.Error != nil || rep.Refused != "PERMISSIONS_VIOLATION" {
		t.Errorf("node durable producer: %s", out)
	}
}
