package router_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/adapters/openai"
	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/planner"
	"github.com/taskrouter/taskrouter/planner/llm"
	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/task"
)

// planEnv is a router whose LLM planner asks a scripted OpenAI-compatible
// server, over NATS and the openai adapter, with the answer streamed as
// server-sent events: the planner model is "planner-1" there.
type planEnv struct {
	*env
	up  *openaitest.Server
	cat *task.Catalog

	mu     sync.Mutex
	events []task.Event
}

// lateGen lets the LLM planner, built before the router, ask it.
type lateGen struct{ r *router.Router }

func (g *lateGen) Generate(ctx context.Context, w task.Work, progress func(string)) (task.Output, error) {
	return g.r.Generate(ctx, w, progress)
}

func newPlanEnv(t *testing.T, cfg router.Config, planning openaitest.Behaviour) *planEnv {
	t.Helper()
	text := []string{"text"}
	var caps []task.Capability
	for _, c := range []task.Capability{
		{Name: "plan", Description: "Plans a request."},
		{Name: "search", Description: "Searches the web.", Examples: []string{"search the web for go"}},
		{Name: "summarize", Description: "Summarizes text.", Examples: []string{"summarize this text"}},
		{Name: "slow", Description: "Takes its time."},
		{Name: "merge", Description: "Writes the answer from the results."},
		{Name: "chat", Description: "Talks.", Examples: []string{"hello there"}},
	} {
		c.Inputs, c.Outputs = text, text
		caps = append(caps, c)
	}
	cat, err := task.NewCatalog(caps...)
	if err != nil {
		t.Fatal(err)
	}
	e := &planEnv{env: newEnv(t, router.Config{}), up: openaitest.New(), cat: cat}
	t.Cleanup(e.up.Close)
	e.up.Script("planner-1", planning)
	gen := &lateGen{}
	lp, err := llm.New(gen, cat)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := planner.New(planner.ModeAuto, cat, planner.WithLLM(lp))
	if err != nil {
		t.Fatal(err)
	}
	nc, err := e.bus.Connect("plan-router")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Catalog, cfg.AcceptTimeout = cat, 2*time.Second
	if e.router, err = router.New(nc, e.reg, pl, cfg); err != nil {
		t.Fatal(err)
	}
	gen.r = e.router
	t.Cleanup(func() { _ = e.router.Close() })
	spec := task.ModelSpec{Name: "planner", Backend: task.BackendOpenAI, BaseURL: e.up.URL(), UpstreamModel: "planner-1",
		Capabilities: []string{"plan"}, Concurrency: 4}
	m, err := openai.New(spec, "")
	if err != nil {
		t.Fatal(err)
	}
	e.executor("planner", executors.Served{Spec: spec, Model: m})
	return e
}

func (e *planEnv) handle(input string) task.Response {
	return e.router.Handle(context.Background(), task.Request{Input: input}, func(ev task.Event) {
		e.mu.Lock()
		e.events = append(e.events, ev)
		e.mu.Unlock()
	})
}

// at returns the position of the first event that matches, or -1.
func (e *planEnv) at(match func(task.Event) bool) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, ev := range e.events {
		if match(ev) {
			return i
		}
	}
	return -1
}

func dispatched(id string) func(task.Event) bool {
	return func(ev task.Event) bool { return ev.Type == task.EventDispatched && ev.SubtaskID == id }
}

func plannedWhole(ev task.Event) bool { return ev.Type == task.EventPlanned && ev.SubtaskID == "" }

// counted answers like echo, counting calls and billing 10 prompt tokens.
func counted(calls *atomic.Int64) funcModel {
	return func(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
		calls.Add(1)
		return task.Output{Text: w.Capability + "(" + w.Input + ")", Usage: task.Usage{PromptTokens: 10}}, nil
	}
}

// sixSteps is an LLMCompiler plan of six steps, two independent pairs
// and their summaries.
const sixSteps = `Thought: search four things, summarize two pairs.
1. search("alpha")
2. search("beta")
3. summarize("$1 and $2")
4. search("gamma")
5. search("delta")
6. summarize("$4 and $5")
7. join()<END_OF_PLAN>`

func TestStreamedPlanRunsFirstStepsBeforeThePlanEnds(t *testing.T) {
	e := newPlanEnv(t, router.Config{}, openaitest.Behaviour{Reply: sixSteps, TokenDelay: 40 * time.Millisecond})
	var calls atomic.Int64
	e.executor("steps", served("steps", counted(&calls), 8, "search", "summarize"))
	resp := e.handle("search four things and summarize them in pairs")
	mustDone(t, resp)
	if len(resp.Plan.Tasks) != 6 || resp.Plan.Planner != planner.ModeLLM {
		t.Fatalf("plan = %+v", resp.Plan)
	}
	whole := e.at(plannedWhole)
	for _, id := range []string{"t1", "t2", "t3"} {
		if d := e.at(dispatched(id)); d < 0 || d > whole {
			t.Errorf("%s was dispatched at event %d, the whole plan was known at %d: want it dispatched while the plan was written", id, d, whole)
		}
	}
	written6 := e.at(func(ev task.Event) bool { return ev.Type == task.EventPlanned && ev.SubtaskID == "t6" })
	if d := e.at(dispatched("t1")); written6 < 0 || d > written6 {
		t.Errorf("t1 dispatched at event %d, t6 written at %d", d, written6)
	}
	if got, want := resp.Subtasks[2].Output, "summarize(search(alpha) and search(beta))"; got != want {
		t.Errorf("t3 output = %q, want %q", got, want)
	}
	if calls.Load() != 6 {
		t.Errorf("the step model was called %d times, want 6", calls.Load())
	}
}

func TestStreamedLoneFirstStepWaitsForTheSecond(t *testing.T) {
	e := newPlanEnv(t, router.Config{}, openaitest.Behaviour{Reply: "1. search(\"alpha\")\n2. summarize(\"$1\")\n3. join()", TokenDelay: 20 * time.Millisecond})
	var calls atomic.Int64
	e.executor("steps", served("steps", counted(&calls), 8, "search", "summarize"))
	mustDone(t, e.handle("search alpha and summarize it"))
	second := e.at(func(ev task.Event) bool { return ev.Type == task.EventPlanned && ev.SubtaskID == "t2" })
	if d := e.at(dispatched("t1")); second < 0 || d < second {
		t.Errorf("t1 dispatched at event %d, before t2 was written at %d: a lone first step may be the whole plan", d, second)
	}
}

func TestInvalidStreamedPlanIsAskedAgainReusingFinishedSteps(t *testing.T) {
	first := "1. search(\"alpha\")\n2. search(\"beta\")\n3. translate(\"$1\")\n4. join()"
	second := "1. search(\"alpha\")\n2. search(\"beta\")\n3. summarize(\"$1 and $2\")\n4. join()"
	e := newPlanEnv(t, router.Config{}, openaitest.Behaviour{TokenDelay: 30 * time.Millisecond, ReplyFunc: func(msgs []task.Message) string {
		if strings.Contains(msgs[len(msgs)-1].Content, "It was rejected") {
			return second
		}
		return first
	}})
	var calls atomic.Int64
	e.executor("steps", served("steps", counted(&calls), 8, "search", "summarize"))
	resp := e.handle("search alpha and beta, then summarize")
	mustDone(t, resp)
	if e.up.Calls("planner-1") != 2 || len(resp.Plan.Tasks) != 3 || resp.Plan.Tasks[2].Capability != "summarize" {
		t.Fatalf("planner calls %d, plan %+v", e.up.Calls("planner-1"), resp.Plan)
	}
	if e.at(dispatched("t1")) < 0 {
		t.Fatal("t1 of the first draft was never dispatched")
	}
	// t1 and t2 of the voided draft finished and were asked the same in
	// the second: they are taken, not run again, and billed once.
	if calls.Load() != 3 {
		t.Errorf("the step model was called %d times, want 3 (t1 and t2 once each, t3)", calls.Load())
	}
	if resp.Usage.PromptTokens != 30 {
		t.Errorf("usage = %+v, want the 30 prompt tokens of three calls", resp.Usage)
	}
}

func TestInvalidStreamedPlanCancelsWhatStartedAndFallsBackToRules(t *testing.T) {
	e := newPlanEnv(t, router.Config{}, openaitest.Behaviour{TokenDelay: 30 * time.Millisecond,
		Reply: "1. slow(\"x\")\n2. search(\"y\")\n3. translate(\"$1\")\n4. join()"})
	cancelled := make(chan struct{}, 4)
	slow := funcModel(func(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
		<-ctx.Done()
		cancelled <- struct{}{}
		return task.Output{}, ctx.Err()
	})
	var calls atomic.Int64
	e.executor("steps", served("slow", slow, 8, "slow"), served("steps", counted(&calls), 8, "search", "summarize", "chat"))
	resp := e.handle("hello there")
	if resp.Error != nil {
		t.Fatalf("request failed: %v", resp.Error)
	}
	if resp.Plan.Planner != planner.ModeRules || resp.Plan.FallbackReason == "" {
		t.Fatalf("plan = %+v, want the rules' plan with the reason", resp.Plan)
	}
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the slow step of the invalid plans was never cancelled at its executor")
	}
	for _, st := range resp.Subtasks {
		if st.Capability == "slow" {
			t.Fatalf("a step of the voided plan is in the response: %+v", resp.Subtasks)
		}
	}
}
