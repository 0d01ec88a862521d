package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/adapters/httpapi/kv"
	"github.com/taskrouter/taskrouter/adapters/httpapi/webhook"
	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/task"
)

// errCut is what a cut store answers: the router can no longer reach NATS.
var errCut = errors.New("test: cut off from the store")

// cutStore is a store that can be cut off from its router and healed.
// Cutting it waits for the calls under way, so that nothing the router
// does once cut reaches the store, as after a SIGKILL.
type cutStore struct {
	kv.Store
	mu  sync.RWMutex // held for reading by calls, for writing to cut or heal
	off bool
}

// setOff cuts the store off (true) or heals it (false).
func (s *cutStore) setOff(off bool) {
	s.mu.Lock()
	s.off = off
	s.mu.Unlock()
}

// call runs f unless the store is cut off.
func (s *cutStore) call(f func() error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.off {
		return errCut
	}
	return f()
}

func (s *cutStore) Get(ctx context.Context, key string) (v []byte, rev uint64, err error) {
	err = s.call(func() (err error) { v, rev, err = s.Store.Get(ctx, key); return err })
	return v, rev, err
}

func (s *cutStore) Create(ctx context.Context, key string, value []byte) (rev uint64, err error) {
	err = s.call(func() (err error) { rev, err = s.Store.Create(ctx, key, value); return err })
	return rev, err
}

func (s *cutStore) Put(ctx context.Context, key string, value []byte) (rev uint64, err error) {
	err = s.call(func() (err error) { rev, err = s.Store.Put(ctx, key, value); return err })
	return rev, err
}

func (s *cutStore) Update(ctx context.Context, key string, value []byte, last uint64) (rev uint64, err error) {
	err = s.call(func() (err error) { rev, err = s.Store.Update(ctx, key, value, last); return err })
	return rev, err
}

func (s *cutStore) Delete(ctx context.Context, key string) error {
	return s.call(func() error { return s.Store.Delete(ctx, key) })
}

func (s *cutStore) Keys(ctx context.Context) (keys []string, err error) {
	err = s.call(func() (err error) { keys, err = s.Store.Keys(ctx); return err })
	return keys, err
}

// countRunner answers after release is closed (nil: at once), and
// remembers which jobs it ran.
type countRunner struct {
	answer  string
	release chan struct{}
	started chan string

	mu   sync.Mutex
	runs map[string]int
}

func newCountRunner(answer string, blocks bool) *countRunner {
	r := &countRunner{answer: answer, started: make(chan string, 16), runs: map[string]int{}}
	if blocks {
		r.release = make(chan struct{})
	}
	return r
}

func (r *countRunner) Handle(ctx context.Context, req task.Request, onEvent func(task.Event)) task.Response {
	r.mu.Lock()
	r.runs[req.ID]++
	r.mu.Unlock()
	r.started <- req.ID
	onEvent(task.Event{Type: task.EventDispatched, SubtaskID: "t1", Model: r.answer, Attempt: 1, Time: time.Now()})
	if r.release != nil {
		select {
		case <-r.release:
		case <-ctx.Done():
			return task.Response{ID: req.ID, Error: task.AsError(context.Cause(ctx))}
		}
	}
	return task.Response{ID: req.ID, Answer: r.answer}
}

func (r *countRunner) total() (n, most int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.runs {
		n, most = n+c, max(most, c)
	}
	return n, most
}

// node is one router: a manager over its own connection to a shared
// JetStream bucket.
type node struct {
	m      *Manager
	store  *cutStore
	runner *countRunner
}

type cluster struct {
	t   *testing.T
	bus *bus.Bus
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	b, err := bus.Start(context.Background(), bus.Config{Name: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return &cluster{t: t, bus: b}
}

// node starts a router named name; tune adjusts its config.
func (c *cluster) node(name string, r *countRunner, tune func(*Config)) *node {
	c.t.Helper()
	nc, err := c.bus.Connect(name)
	if err != nil {
		c.t.Fatal(err)
	}
	js, err := kv.OpenJetStream(context.Background(), nc, "test_jobs", time.Hour)
	if err != nil {
		c.t.Fatal(err)
	}
	cfg := Config{Runner: r, Planner: onePlan{}, Store: &cutStore{Store: js}, Instance: name, Workers: 8, Queue: 8,
		LeaseTTL: 400 * time.Millisecond, LeaseRenew: 50 * time.Millisecond, ScanInterval: 40 * time.Millisecond}
	if tune != nil {
		tune(&cfg)
	}
	m, err := New(cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	n := &node{m: m, store: cfg.Store.(*cutStore), runner: r}
	c.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_ = m.Close(ctx)
	})
	return n
}

// crash stops a router abruptly, as SIGKILL would: it is cut off from the
// store first, so that nothing it does afterwards is written, then its
// lease renewer, scanner, jobs and deliveries are stopped.
func (n *node) crash() {
	n.store.setOff(true)
	n.m.stopLoops()
	n.m.loops.Wait()
	n.m.deliver.cancel()
	n.m.results.cancel()
	n.m.cancelBase(errors.New("test: crashed"))
}

// await polls the job through n until ok accepts it.
func await(t *testing.T, n *node, id string, what string, ok func(Job) bool) Job {
	t.Helper()
	var j Job
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if j, err = n.m.Get(context.Background(), id, ""); err == nil && ok(j) {
			return j
		}
	}
	t.Fatalf("job %s never %s: %+v, %v", id, what, j, err)
	return j
}

func awaitStarted(t *testing.T, r *countRunner) string {
	t.Helper()
	select {
	case id := <-r.started:
		return id
	case <-time.After(10 * time.Second):
		t.Fatal("the runner never started")
		return ""
	}
}

// receiver is a callback endpoint that answers fail until ok is set.
type receiver struct {
	*httptest.Server
	ok       atomic.Bool
	mu       sync.Mutex
	statuses []int
	bodies   []callbackBody
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var b callbackBody
		_ = json.NewDecoder(req.Body).Decode(&b)
		status := http.StatusInternalServerError
		if r.ok.Load() {
			status = http.StatusNoContent
		}
		r.mu.Lock()
		r.statuses, r.bodies = append(r.statuses, status), append(r.bodies, b)
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) got() ([]int, []callbackBody) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.statuses...), append([]callbackBody(nil), r.bodies...)
}

func callbacks(backoff time.Duration) func(*Config) {
	secret, _ := webhook.ParseSecret("whsec_" + strings.Repeat("c2VjcmV0", 4))
	return func(c *Config) {
		c.Callbacks = CallbackConfig{Secret: secret, InitialBackoff: backoff, MaxBackoff: backoff, AllowPrivate: true}
	}
}

// runningOnA starts routers a, whose runner blocks, and b, whose runner
// answers at once, and a job with a callback that a runs.
func runningOnA(t *testing.T) (*receiver, *node, *node, Job) {
	t.Helper()
	c := newCluster(t)
	recv := newReceiver(t)
	recv.ok.Store(true)
	a := c.node("a", newCountRunner("from a", true), callbacks(10*time.Millisecond))
	b := c.node("b", newCountRunner("from b", false), callbacks(10*time.Millisecond))
	sub, err := a.m.Submit(context.Background(), Spec{Request: task.Request{Input: "x"}, CallbackURL: recv.URL})
	if err != nil {
		t.Fatal(err)
	}
	awaitStarted(t, a.runner)
	return recv, a, b, sub
}

// A router that crashes while running a job loses it to another, which
// runs it again from the start after the lease and delivers its callback.
func TestTakeoverAfterCrash(t *testing.T) {
	recv, a, b, sub := runningOnA(t)
	await(t, b, sub.ID, "ran on a", func(j Job) bool { return j.Status == StatusRunning && len(j.Subtasks) == 1 })
	crashed := time.Now()
	a.crash()
	j := await(t, b, sub.ID, "was delivered", func(j Job) bool { return j.Callback.State == DeliveryDelivered })
	// The last renewal may precede the crash by up to LeaseRenew (50ms).
	if took := time.Since(crashed); took < 300*time.Millisecond {
		t.Errorf("taken over %s after the crash, before the lease of 400ms could run out", took)
	}
	if j.Status != StatusDone || j.Answer != "from b" || j.Instance != "b" || j.Takeovers != 1 || j.Plan == nil {
		t.Fatalf("job after the takeover: %+v", j)
	}
	if n, _ := b.runner.total(); n != 1 {
		t.Fatalf("b ran the job %d times", n)
	}
	statuses, bodies := recv.got()
	if len(statuses) != 1 || bodies[0].Data.Answer != "from b" || bodies[0].Type != "job.done" {
		t.Fatalf("callbacks %v %+v", statuses, bodies)
	}
}

// A job whose routers keep being lost is not run for ever: past
// MaxTakeovers it fails with code "unavailable" and says why.
func TestTakenOverTooOftenFails(t *testing.T) {
	c := newCluster(t)
	once := func(cfg *Config) { cfg.MaxTakeovers = 1 }
	a := c.node("a", newCountRunner("from a", true), once)
	b := c.node("b", newCountRunner("from b", true), once)
	sub, err := a.m.Submit(context.Background(), Spec{Request: task.Request{Input: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	awaitStarted(t, a.runner)
	a.crash()
	awaitStarted(t, b.runner)
	await(t, b, sub.ID, "ran on b", func(j Job) bool { return j.Instance == "b" && j.Status == StatusRunning })
	b.crash()
	cRunner := newCountRunner("from c", false)
	cn := c.node("c", cRunner, once)
	j := await(t, cn, sub.ID, "failed", func(j Job) bool { return j.Status.Final() })
	if j.Status != StatusFailed || j.Error == nil || j.Error.Code != task.CodeUnavailable ||
		!strings.Contains(j.Error.Message, "lost 2 times") || j.Instance != "c" || j.EndedAt.IsZero() {
		t.Fatalf("job taken over too often: %s %+v", j.Status, j.Error)
	}
	if n, _ := cRunner.total(); n != 0 {
		t.Fatalf("c ran the job %d times", n)
	}
}

// Two survivors that claim the same lost job at once run it once: the
// claim is a write conditional on the revision both read.
func TestConcurrentTakeoverRunsOnce(t *testing.T) {
	c := newCluster(t)
	idle := func(cfg *Config) { cfg.ScanInterval = time.Hour }
	a := c.node("a", newCountRunner("from a", true), idle)
	b := c.node("b", newCountRunner("from b", false), idle)
	d := c.node("d", newCountRunner("from d", false), idle)
	var ids []string
	for range 5 {
		sub, err := a.m.Submit(context.Background(), Spec{Request: task.Request{Input: "x"}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sub.ID)
	}
	a.crash()
	for _, id := range ids {
		j, err := b.m.store.get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for _, n := range []*node{b, d} {
			wg.Go(func() { n.m.takeOver(context.Background(), j) })
		}
		wg.Wait()
		got := await(t, b, id, "finished", func(j Job) bool { return j.Status == StatusDone })
		if got.Takeovers != 1 {
			t.Fatalf("job %s taken over %d times", id, got.Takeovers)
		}
	}
	ranEachOnce(t, len(ids), b, d)
}

// ranEachOnce fails unless b and d ran n jobs between them, none twice.
func ranEachOnce(t *testing.T, n int, b, d *node) {
	t.Helper()
	nb, maxB := b.runner.total()
	nd, maxD := d.runner.total()
	if nb+nd != n || maxB > 1 || maxD > 1 {
		t.Fatalf("b ran %d jobs, d ran %d, of %d (at most %d and %d times each)", nb, nd, n, maxB, maxD)
	}
}

// Survivors that find the lost jobs by scanning, at the same time, run
// each of them once.
func TestScanningSurvivorsRunEachJobOnce(t *testing.T) {
	c := newCluster(t)
	fast := func(cfg *Config) { cfg.ScanInterval = 5 * time.Millisecond }
	a := c.node("a", newCountRunner("from a", true), nil)
	var ids []string
	for range 6 {
		sub, err := a.m.Submit(context.Background(), Spec{Request: task.Request{Input: "x"}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sub.ID)
	}
	a.crash()
	b := c.node("b", newCountRunner("from b", false), fast)
	d := c.node("d", newCountRunner("from d", false), fast)
	for _, id := range ids {
		if j := await(t, b, id, "finished", func(j Job) bool { return j.Status.Final() }); j.Status != StatusDone || j.Takeovers != 1 {
			t.Fatalf("job %s: %s after %d takeovers", id, j.Status, j.Takeovers)
		}
	}
	ranEachOnce(t, len(ids), b, d)
}

// The pending callback of a job that ended before its router crashed is
// delivered by another router, on the schedule the first one stored.
func TestTakeoverOfPendingCallback(t *testing.T) {
	c := newCluster(t)
	recv := newReceiver(t)
	a := c.node("a", newCountRunner("from a", false), callbacks(200*time.Millisecond))
	b := c.node("b", newCountRunner("from b", false), callbacks(200*time.Millisecond))
	sub, err := a.m.Submit(context.Background(), Spec{Request: task.Request{Input: "x"}, CallbackURL: recv.URL})
	if err != nil {
		t.Fatal(err)
	}
	await(t, b, sub.ID, "had a failed delivery", func(j Job) bool { return j.Callback.Attempts == 1 })
	a.crash()
	recv.ok.Store(true)
	j := await(t, b, sub.ID, "was delivered", func(j Job) bool { return j.Callback.State == DeliveryDelivered })
	if j.Instance != "b" || j.Answer != "from a" || j.Callback.Attempts != 2 || j.Takeovers != 0 {
		t.Fatalf("job after the takeover of its callback: %+v %+v", j, j.Callback)
	}
	if statuses, _ := recv.got(); len(statuses) != 2 || statuses[1] != http.StatusNoContent {
		t.Fatalf("the receiver saw %v", statuses)
	}
	if n, _ := b.runner.total(); n != 0 {
		t.Fatalf("b ran an ended job %d times", n)
	}
}

// A router cut off from NATS for longer than its lease, and then back,
// finds its job taken over: it stops it and overwrites nothing, and
// delivers no callback of its own.
func TestRouterBackFromPartitionYields(t *testing.T) {
	recv, a, b, sub := runningOnA(t)
	a.store.setOff(true)
	await(t, b, sub.ID, "was delivered by b", func(j Job) bool { return j.Callback.State == DeliveryDelivered })
	a.store.setOff(false)
	close(a.runner.release)
	for deadline := time.Now().Add(5 * time.Second); a.m.Pending() > 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a never stopped its job")
		}
	}
	time.Sleep(50 * time.Millisecond) // room for a wrong callback to arrive
	j, err := b.m.Get(context.Background(), sub.ID, "")
	if err != nil || j.Answer != "from b" || j.Instance != "b" || j.Callback.Attempts != 1 {
		t.Fatalf("a overwrote b's job: %+v, %v", j, err)
	}
	if statuses, bodies := recv.got(); len(statuses) != 1 || bodies[0].Data.Answer != "from b" {
		t.Fatalf("callbacks after a came back: %v", statuses)
	}
}

func TestLeaseWatch(t *testing.T) {
	t0 := time.Unix(1000, 0)
	w := newLeaseWatch(time.Second)
	steps := []struct {
		rev  uint64
		at   time.Duration
		lost bool
	}{
		{rev: 5, at: 0, lost: false},
		{rev: 5, at: 999 * time.Millisecond, lost: false},
		{rev: 6, at: 1500 * time.Millisecond, lost: false}, // renewed
		{rev: 6, at: 2400 * time.Millisecond, lost: false},
		{rev: 6, at: 2500 * time.Millisecond, lost: true},
		{rev: 7, at: 2600 * time.Millisecond, lost: false}, // written again
	}
	for i, s := range steps {
		if got := w.lost("x", s.rev, t0.Add(s.at)); got != s.lost {
			t.Fatalf("step %d: lost = %v, want %v", i, got, s.lost)
		}
	}
	w.forget("x")
	if w.lost("x", 7, t0.Add(time.Hour)) {
		t.Fatal("a forgotten job is lost at first sight")
	}
}

// The renewer writes only the jobs nothing else wrote lately.
func TestHoldingsStale(t *testing.T) {
	h := newHoldings("me", time.Second)
	t0 := time.Unix(1000, 0)
	h.wrote(&Job{ID: "job_old", Lease: "me", Status: StatusRunning}, t0)
	h.wrote(&Job{ID: "job_new", Lease: "me", Status: StatusQueued}, t0.Add(time.Second))
	h.wrote(&Job{ID: "job_theirs", Lease: "other", Status: StatusRunning}, t0)
	h.wrote(&Job{ID: "job_ended", Lease: "me", Status: StatusDone}, t0)
	pending := &Job{ID: "job_cb", Lease: "me", Status: StatusFailed, Callback: &Callback{State: DeliveryPending}}
	h.wrote(pending, t0)
	got := h.stale(t0.Add(500 * time.Millisecond))
	slices.Sort(got)
	if !slices.Equal(got, []string{"job_cb", "job_old"}) {
		t.Fatalf("stale = %v", got)
	}
}

func TestNewRejectsALeaseRenewedTooRarely(t *testing.T) {
	_, err := New(Config{Runner: blockRunner{}, Store: kv.NewMemory(time.Hour), LeaseTTL: time.Second, LeaseRenew: time.Second})
	if err == nil {
		t.Fatal("New accepted a renewal interval as long as the lease")
	}
}
