package jobs

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/adapters/httpapi/kv"
	"github.com/taskrouter/taskrouter/task"
)

// published records the results a router published, by subject. The
// JetStream publisher is tested in adapters/durable; here the manager's
// part is: when it publishes, how often, and what it records.
type published struct {
	mu   sync.Mutex
	fail int // fail the next fail publications
	got  map[string][]task.Response
}

func newPublished() *published { return &published{got: map[string][]task.Response{}} }

func (p *published) PublishResult(_ context.Context, subject string, resp task.Response) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail > 0 {
		p.fail--
		return errors.New("test: NATS is failing over")
	}
	p.got[subject] = append(p.got[subject], resp)
	return nil
}

func (p *published) of(subject string) []task.Response {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]task.Response(nil), p.got[subject]...)
}

func withResults(p *published) func(*Config) { return func(c *Config) { c.Results = p } }

// A durable request's job publishes its Response when it ends, retrying
// while the publisher fails, and records it as published, which settles
// the job.
func TestResultPublishedOnceWhenTheJobEnds(t *testing.T) {
	c := newCluster(t)
	pub := newPublished()
	pub.fail = 2
	a := c.node("a", newCountRunner("42", false), withResults(pub))
	sub, err := a.m.Submit(context.Background(), Spec{ID: "order-1", Request: task.Request{Input: "x"}, Source: "nats:p",
		ResultSubject: task.ResultSubject("p", "order-1")})
	if err != nil || sub.ID != "order-1" || sub.Result == nil || sub.Result.State != DeliveryPending {
		t.Fatalf("Submit = %+v, %v", sub, err)
	}
	j := await(t, a, "order-1", "published its result", func(j Job) bool { return j.Settled() })
	if j.Result.State != ResultPublished || j.Result.PublishedAt.IsZero() || j.Status != StatusDone {
		t.Fatalf("job after its result: %s %+v", j.Status, j.Result)
	}
	got := pub.of("tr.v1.results.p.order-1")
	if len(got) != 1 || got[0].ID != "order-1" || got[0].Answer != "42" || got[0].Plan == nil || len(got[0].Subtasks) != 1 {
		t.Fatalf("published %+v", got)
	}
	if _, err := a.m.Submit(context.Background(), Spec{ID: "order-1", Request: task.Request{Input: "y"}}); !errors.Is(err, ErrExists) {
		t.Fatalf("a second job order-1: %v, want ErrExists", err)
	}
	if _, err := a.m.Submit(context.Background(), Spec{ID: "a.b", Request: task.Request{Input: "y"}}); !errors.Is(err, ErrBadID) {
		t.Fatalf("a job id with a dot: %v, want ErrBadID", err)
	}
}

// A router that crashes after its job ended but before the result was
// published leaves it pending: another takes the job over and publishes
// the result, without running the job again.
func TestTakeoverPublishesAPendingResult(t *testing.T) {
	c := newCluster(t)
	pubA, pubB := newPublished(), newPublished()
	pubA.fail = 1 << 30 // a never publishes
	a := c.node("a", newCountRunner("from a", false), withResults(pubA))
	b := c.node("b", newCountRunner("from b", false), withResults(pubB))
	sub, err := a.m.Submit(context.Background(), Spec{Request: task.Request{Input: "x"}, ResultSubject: "tr.v1.results.job"})
	if err != nil {
		t.Fatal(err)
	}
	await(t, b, sub.ID, "ended on a", func(j Job) bool { return j.Status == StatusDone })
	a.crash()
	j := await(t, b, sub.ID, "had its result published by b", func(j Job) bool { return j.Settled() })
	if j.Instance != "b" || j.Answer != "from a" || j.Takeovers != 0 {
		t.Fatalf("job after b published its result: %+v", j)
	}
	if got := pubB.of("tr.v1.results.job"); len(got) != 1 || got[0].Answer != "from a" {
		t.Fatalf("b published %+v", got)
	}
	if n, _ := b.runner.total(); n != 0 {
		t.Fatalf("b ran an ended job %d times", n)
	}
}

// Shutdown does not fail a durable request's job it could not finish, as
// it fails other jobs: it leaves it running, and another router runs it
// once the lease runs out and publishes its result.
func TestShutdownLeavesDurableJobsToAnotherRouter(t *testing.T) {
	c := newCluster(t)
	pub := newPublished()
	a := c.node("a", newCountRunner("from a", true), withResults(pub))
	sub, err := a.m.Submit(context.Background(), Spec{Request: task.Request{Input: "x"}, ResultSubject: "tr.v1.results.job"})
	if err != nil {
		t.Fatal(err)
	}
	awaitStarted(t, a.runner)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_ = a.m.Close(ctx)
	j, err := a.m.store.get(context.Background(), sub.ID)
	if err != nil || j.Status != StatusRunning || j.Error != nil {
		t.Fatalf("the durable job after its router shut down: %s %v, %v", j.Status, j.Error, err)
	}
	b := c.node("b", newCountRunner("from b", false), withResults(pub))
	j = await(t, b, sub.ID, "ran on b", func(j Job) bool { return j.Settled() })
	if j.Status != StatusDone || j.Answer != "from b" || j.Takeovers != 1 {
		t.Fatalf("job after b took it over: %+v", j)
	}
	if got := pub.of("tr.v1.results.job"); len(got) != 1 || got[0].Answer != "from b" {
		t.Fatalf("published %+v", got)
	}
}

// A spec with Fail is stored as failed at once, never run, and its
// result published.
func TestFailedSpecIsStoredAndAnswered(t *testing.T) {
	c := newCluster(t)
	pub := newPublished()
	a := c.node("a", newCountRunner("never", false), withResults(pub))
	fail := task.Errorf(task.CodeInvalidRequest, "the request is not JSON")
	sub, err := a.m.Submit(context.Background(), Spec{ID: "bad-1", Fail: fail, ResultSubject: "tr.v1.results.p.bad-1"})
	if err != nil || sub.Status != StatusFailed {
		t.Fatalf("Submit = %+v, %v", sub, err)
	}
	j := await(t, a, "bad-1", "was answered", func(j Job) bool { return j.Settled() })
	if j.Error == nil || j.Error.Code != task.CodeInvalidRequest || j.EndedAt.IsZero() {
		t.Fatalf("failed job %+v", j)
	}
	if got := pub.of("tr.v1.results.p.bad-1"); len(got) != 1 || got[0].Error == nil || got[0].Error.Message != fail.Message {
		t.Fatalf("published %+v", got)
	}
	if n, _ := a.runner.total(); n != 0 {
		t.Fatalf("a failed spec ran %d times", n)
	}
}

// A manager without a result publisher refuses durable jobs instead of
// accepting work whose answer would go nowhere.
func TestResultSubjectNeedsAPublisher(t *testing.T) {
	m, err := New(Config{Runner: blockRunner{}, Store: kv.NewMemory(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	defer closeSoon(m)
	if _, err := m.Submit(context.Background(), Spec{ResultSubject: "tr.v1.results.x"}); !errors.Is(err, ErrNoResults) {
		t.Fatalf("Submit = %v, want ErrNoResults", err)
	}
}

// plansNothing fails the test's job if the manager asks it for a plan.
type plansNothing struct{ asked chan struct{} }

func (p plansNothing) Plan(context.Context, task.Request) (task.Plan, error) {
	close(p.asked)
	return task.Plan{}, errors.New("test: planned a request naming a model")
}

// A job whose request names a model is planned by the runner, which pins
// it to the model, not by the planner, which would plan it as if it
// named none.
func TestNamedModelIsNotPlannedByThePlanner(t *testing.T) {
	p := plansNothing{asked: make(chan struct{})}
	r := newCountRunner("ok", false)
	m, err := New(Config{Runner: r, Planner: p, Store: kv.NewMemory(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	defer closeSoon(m)
	sub, err := m.Submit(context.Background(), Spec{Request: task.Request{Input: "x", Hints: task.Hints{Model: "gpt-4o"}}, Model: "gpt-4o"})
	if err != nil {
		t.Fatal(err)
	}
	j := waitStatus(t, m, sub.ID, "", StatusDone)
	select {
	case <-p.asked:
		t.Fatal("the planner was asked")
	default:
	}
	if j.Answer != "ok" {
		t.Fatalf("job %+v", j)
	}
}

// A job that ends while its router cannot reach the store (NATS electing
// a new leader for the bucket) is stored as ended once it can: it used to
// stay running in the store for ever, its lease renewed by its router.
func TestEndedJobIsStoredAfterAStoreOutage(t *testing.T) {
	c := newCluster(t)
	a := c.node("a", newCountRunner("done", true), func(cfg *Config) { cfg.LeaseRenew = 20 * time.Millisecond })
	sub, err := a.m.Submit(context.Background(), Spec{Request: task.Request{Input: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	awaitStarted(t, a.runner)
	a.store.setOff(true)
	close(a.runner.release)
	time.Sleep(300 * time.Millisecond) // the job ends; its final write fails
	a.store.setOff(false)
	j := await(t, a, sub.ID, "was stored as done", func(j Job) bool { return j.Status == StatusDone })
	if j.Answer != "done" || j.Takeovers != 0 {
		t.Fatalf("job %+v", j)
	}
}
