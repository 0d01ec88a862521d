package durable

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/taskrouter/taskrouter/adapters/httpapi/jobs"
	"github.com/taskrouter/taskrouter/adapters/httpapi/kv"
	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/bus/authtest"
	"github.com/taskrouter/taskrouter/task"
)

// runner answers "answer to <input>", one subtask, and counts its runs
// by job; while block is open it waits for it (or for cancellation).
type runner struct {
	block chan struct{}

	mu   sync.Mutex
	runs map[string]int
}

func newRunner(blocks bool) *runner {
	r := &runner{runs: map[string]int{}}
	if blocks {
		r.block = make(chan struct{})
	}
	return r
}

func (r *runner) Handle(ctx context.Context, req task.Request, onEvent func(task.Event)) task.Response {
	r.mu.Lock()
	r.runs[req.ID]++
	r.mu.Unlock()
	onEvent(task.Event{Type: task.EventDispatched, SubtaskID: "t1", Model: "m", Attempt: 1, Time: time.Now()})
	if r.block != nil {
		select {
		case <-r.block:
		case <-ctx.Done():
			return task.Response{ID: req.ID, Subtasks: []task.SubtaskState{}, Error: task.AsError(context.Cause(ctx))}
		}
	}
	text, _ := req.Text()
	return task.Response{ID: req.ID, Answer: "answer to " + text,
		Subtasks: []task.SubtaskState{{ID: "t1", Capability: "chat", Deps: []string{}, Model: "m", Status: task.StatusDone}}}
}

func (r *runner) ran(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.runs[id]
}

// world is an embedded NATS with authtest's users, on which routers and
// producers meet.
type world struct {
	t   *testing.T
	bus *bus.Bus
	tg  authtest.Target
	d   bus.Durable
}

func newWorld(t *testing.T, d bus.Durable) *world {
	t.Helper()
	b, err := bus.Start(context.Background(), bus.Config{Name: t.Name(), Listen: "127.0.0.1:0", Auth: bus.Auth{Users: authtest.Users()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return &world{t: t, bus: b, tg: authtest.Target{URL: b.ClientURL()}, d: d}
}

// routerNode is one router: its connection, jobs manager and consumer.
type routerNode struct {
	nc *nats.Conn
	m  *jobs.Manager
	c  *Consumer
	r  *runner
}

func (w *world) setup(nc *nats.Conn) func(context.Context) (jetstream.Consumer, error) {
	return func(ctx context.Context) (jetstream.Consumer, error) {
		js, err := jetstream.New(nc)
		if err != nil {
			return nil, err
		}
		return bus.SetupDurable(ctx, js, w.d)
	}
}

// router starts a router whose jobs lease runs out after 400ms.
func (w *world) router(name string, r *runner) *routerNode {
	w.t.Helper()
	nc, err := w.bus.Connect(name)
	if err != nil {
		w.t.Fatal(err)
	}
	ctx := context.Background()
	store, err := kv.OpenJetStream(ctx, nc, "taskrouter_jobs", time.Hour)
	if err != nil {
		w.t.Fatal(err)
	}
	results, err := NewResults(nc)
	if err != nil {
		w.t.Fatal(err)
	}
	feed := jobs.NewNATSFeed(nc)
	m, err := jobs.New(jobs.Config{Runner: r, Store: store, Feed: feed, Broadcast: feed, Results: results, Instance: name,
		LeaseTTL: 400 * time.Millisecond, LeaseRenew: 50 * time.Millisecond, ScanInterval: 40 * time.Millisecond})
	if err != nil {
		w.t.Fatal(err)
	}
	c, err := Start(ctx, Config{Setup: w.setup(nc), Jobs: m, Results: results, FetchWait: 200 * time.Millisecond})
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_ = c.Close(ctx)
		_ = m.Close(ctx)
	})
	return &routerNode{nc: nc, m: m, c: c, r: r}
}

// publish sends a durable request as producer, with a message id unless
// id is "", and returns JetStream's acknowledgement.
func (w *world) publish(nc *nats.Conn, producer, id, body string) *jetstream.PubAck {
	w.t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		w.t.Fatal(err)
	}
	msg := &nats.Msg{Subject: task.JobsSubject(producer), Data: []byte(body), Header: nats.Header{}}
	if id != "" {
		msg.Header.Set(jetstream.MsgIDHeader, id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ack, err := js.PublishMsg(ctx, msg)
	if err != nil {
		w.t.Fatalf("publishing a durable request as %s: %v", producer, err)
	}
	return ack
}

// await reads a result with the producer's own connection.
func await(t *testing.T, nc *nats.Conn, producer, id string) task.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	resp, err := AwaitResult(ctx, nc, producer, id)
	if err != nil {
		t.Fatalf("the result of %s's %s: %v", producer, id, err)
	}
	return resp
}

// resultCounts returns how many messages the results stream holds per
// subject, and how many requests are left in the work queue.
func resultCounts(t *testing.T, nc *nats.Conn) (map[string]uint64, uint64) {
	t.Helper()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rs, err := js.Stream(ctx, bus.ResultsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := rs.Info(ctx, jetstream.WithSubjectFilter(task.SubjectResultsPrefix+">"))
	if err != nil {
		t.Fatal(err)
	}
	q, err := js.Stream(ctx, bus.JobsStream)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Subjects, q.CachedInfo().State.Msgs
}

// Requests published while no router runs are acknowledged at once,
// kept, and answered once each when a router starts; each producer reads
// its results with its own permissions, and GET /v1/jobs/{id} would show
// each as a job.
func TestRequestsPublishedBeforeAnyRouterAreAnsweredOnce(t *testing.T) {
	w := newWorld(t, bus.Durable{})
	setupNC, err := w.bus.Connect("setup") // the streams exist before any router, as nats-setup makes them
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.setup(setupNC)(context.Background()); err != nil {
		t.Fatal(err)
	}
	prod := w.tg.As(t, "prod-1")
	const n = 20
	for i := range n {
		ack := w.publish(prod, "prod-1", fmt.Sprintf("order-%d", i), fmt.Sprintf(`{"input": "question %d"}`, i))
		if ack.Stream != bus.JobsStream || ack.Duplicate {
			t.Fatalf("ack %+v", ack)
		}
	}
	if again := w.publish(prod, "prod-1", "order-0", `{"input": "question 0"}`); !again.Duplicate {
		t.Fatalf("a request published twice within the window: %+v", again)
	}
	r := newRunner(false)
	a := w.router("a", r)
	for i := range n {
		id := fmt.Sprintf("order-%d", i)
		resp := await(t, prod, "prod-1", id)
		if resp.ID != id || resp.Answer != fmt.Sprintf("answer to question %d", i) || resp.Error != nil || resp.Model != "m" {
			t.Fatalf("result of %s: %+v", id, resp)
		}
		if runs := r.ran(id); runs != 1 {
			t.Fatalf("%s ran %d times", id, runs)
		}
		j, err := a.m.Get(context.Background(), id, "")
		if err != nil || j.Source != "nats:prod-1" || j.Result.Subject != "tr.v1.results.prod-1."+id || j.Status != jobs.StatusDone {
			t.Fatalf("job %s: %+v, %v", id, j, err)
		}
	}
	waitFor(t, "the work queue to empty", func() bool {
		counts, queued := resultCounts(t, a.nc)
		return queued == 0 && len(counts) == n
	})
	counts, _ := resultCounts(t, a.nc)
	for subject, c := range counts {
		if c != 1 {
			t.Errorf("%d results on %s", c, subject)
		}
	}
	other := w.tg.As(t, "prod-2")
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if resp, err := GetResult(ctx, other, "prod-1", "order-1"); err == nil {
		t.Fatalf("another producer read prod-1's result: %+v", resp)
	}
	if err := other.LastError(); !errors.Is(err, nats.ErrPermissionViolation) {
		t.Fatalf("another producer's get of prod-1's result: %v, want a permissions violation", err)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited in vain for %s", what)
		}
	}
}

// After the duplicate window, a request published again with the same
// id is found in the job store: it is not run again, and its result is
// not published again. Another producer's request with that id is
// refused, and told why, on its own results subject.
func TestJobStoreDeduplicatesBeyondTheWindow(t *testing.T) {
	w := newWorld(t, bus.Durable{DedupeWindow: 200 * time.Millisecond})
	r := newRunner(false)
	a := w.router("a", r)
	prod, other := w.tg.As(t, "prod-1"), w.tg.As(t, "prod-2")
	w.publish(prod, "prod-1", "order-7", `{"input": "seven"}`)
	first := await(t, prod, "prod-1", "order-7")
	time.Sleep(300 * time.Millisecond) // past the window
	if ack := w.publish(prod, "prod-1", "order-7", `{"input": "seven"}`); ack.Duplicate {
		t.Fatalf("JetStream still deduplicates after its window: %+v", ack)
	}
	// Within the window JetStream drops it, whoever sends it: message ids
	// are one namespace across producers, and the ack says duplicate.
	if ack := w.publish(other, "prod-2", "order-7", `{"input": "not yours"}`); !ack.Duplicate {
		t.Fatalf("another producer's id within the window: %+v", ack)
	}
	time.Sleep(300 * time.Millisecond)
	if ack := w.publish(other, "prod-2", "order-7", `{"input": "not yours"}`); ack.Duplicate {
		t.Fatalf("ack %+v", ack)
	}
	refused := await(t, other, "prod-2", "order-7")
	if refused.Error == nil || refused.Error.Code != task.CodeInvalidRequest || !strings.Contains(refused.Error.Message, "taken by another producer") {
		t.Fatalf("another producer's request with a taken id: %+v", refused)
	}
	waitFor(t, "the work queue to empty", func() bool { _, q := resultCounts(t, a.nc); return q == 0 })
	counts, _ := resultCounts(t, a.nc)
	if counts["tr.v1.results.prod-1.order-7"] != 1 || r.ran("order-7") != 1 || first.Answer != "answer to seven" {
		t.Fatalf("results %v, runs %d, first %+v", counts, r.ran("order-7"), first)
	}
}

// A request that cannot run still becomes a job, a failed one, and its
// producer reads why: malformed JSON, a message id that is no job id.
// Without a message id, the job's id is made from the request's place in
// the stream.
func TestUnreadableRequestsAreAnswered(t *testing.T) {
	w := newWorld(t, bus.Durable{})
	a := w.router("a", newRunner(false))
	prod := w.tg.As(t, "prod-1")
	w.publish(prod, "prod-1", "bad-json", `{"input": `)
	resp := await(t, prod, "prod-1", "bad-json")
	if resp.Error == nil || resp.Error.Code != task.CodeInvalidRequest || !strings.Contains(resp.Error.Message, "decoding request") {
		t.Fatalf("result of malformed JSON: %+v", resp)
	}
	follow, err := prod.SubscribeSync(task.ResultSubject("prod-1", ">"))
	if err != nil {
		t.Fatal(err)
	}
	_ = prod.Flush()
	w.publish(prod, "prod-1", "not.an.id", `{"input": "x"}`)
	w.publish(prod, "prod-1", "", `{"input": "no id"}`)
	var got []task.Response
	for range 2 {
		m, err := follow.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		r, _ := decodeResult(m.Subject, m.Data)
		got = append(got, r)
	}
	for _, r := range got {
		switch {
		case r.Error != nil && strings.Contains(r.Error.Message, `"not.an.id" is not a job id`) && strings.HasPrefix(r.ID, "job_"):
		case r.Error == nil && r.Answer == "answer to no id" && strings.HasPrefix(r.ID, "job_"):
			if j, err := a.m.Get(context.Background(), r.ID, ""); err != nil || j.Status != jobs.StatusDone {
				t.Errorf("job %s of a request without an id: %+v, %v", r.ID, j, err)
			}
		default:
			t.Errorf("unexpected result %+v", r)
		}
	}
}

// A router cut off from NATS while it runs a job (as if it died) stops
// acknowledging; after the ack wait the request is delivered to another
// router, which finds the job stored, does not start it twice, waits for
// the takeover of its lease, and acks it once the result is published.
func TestRequestOfALostRouterIsTakenOverAndAnsweredOnce(t *testing.T) {
	w := newWorld(t, bus.Durable{AckWait: 600 * time.Millisecond})
	ra := newRunner(true)
	a := w.router("a", ra)
	prod := w.tg.As(t, "prod-1")
	w.publish(prod, "prod-1", "order-9", `{"input": "nine"}`)
	waitFor(t, "a to run order-9", func() bool { return ra.ran("order-9") == 1 })
	a.nc.Close() // a is gone: no in-progress acks, no lease renewals, no result
	rb := newRunner(false)
	b := w.router("b", rb)
	resp := await(t, prod, "prod-1", "order-9")
	if resp.Answer != "answer to nine" || rb.ran("order-9") != 1 {
		t.Fatalf("result %+v; b ran it %d times", resp, rb.ran("order-9"))
	}
	j, err := b.m.Get(context.Background(), "order-9", "")
	if err != nil || j.Takeovers != 1 || j.Instance != "b" {
		t.Fatalf("job after the takeover: %+v, %v", j, err)
	}
	waitFor(t, "the work queue to empty", func() bool { _, q := resultCounts(t, b.nc); return q == 0 })
	if counts, _ := resultCounts(t, b.nc); counts["tr.v1.results.prod-1.order-9"] != 1 {
		t.Fatalf("results %v", counts)
	}
	close(ra.block)
}

// On its last delivery a request is acked as soon as its job is stored:
// JetStream would deliver it no more, and the job store carries it.
func TestLastDeliveryIsAckedOnceStored(t *testing.T) {
	w := newWorld(t, bus.Durable{MaxDeliver: 1})
	r := newRunner(true)
	a := w.router("a", r)
	prod := w.tg.As(t, "prod-1")
	w.publish(prod, "prod-1", "order-1", `{"input": "one"}`)
	waitFor(t, "the work queue to empty while the job runs", func() bool { _, q := resultCounts(t, a.nc); return q == 0 && r.ran("order-1") == 1 })
	close(r.block)
	if resp := await(t, prod, "prod-1", "order-1"); resp.Answer != "answer to one" {
		t.Fatalf("result %+v", resp)
	}
}

// An operator who deletes the consumer (to have dead letters delivered
// again) loses nothing: routers set it up again and take requests on.
func TestDeletedConsumerIsSetUpAgain(t *testing.T) {
	w := newWorld(t, bus.Durable{})
	a := w.router("a", newRunner(false))
	prod := w.tg.As(t, "prod-1")
	w.publish(prod, "prod-1", "before", `{"input": "before"}`)
	await(t, prod, "prod-1", "before")
	js, _ := jetstream.New(a.nc)
	if err := js.DeleteConsumer(context.Background(), bus.JobsStream, bus.JobsConsumer); err != nil {
		t.Fatal(err)
	}
	w.publish(prod, "prod-1", "after", `{"input": "after"}`)
	if resp := await(t, prod, "prod-1", "after"); resp.Answer != "answer to after" {
		t.Fatalf("result after the consumer was deleted: %+v", resp)
	}
}
