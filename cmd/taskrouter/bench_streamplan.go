package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/taskrouter/taskrouter/adapters/openai"
	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/planner/llm"
	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/task"
)

// streamPlanBench is what dispatching while the plan is written saves: a
// scripted planner model streams a six-step plan, one line every 300 ms,
// whose steps take 1 s each on a scripted model; the same request runs
// at once through a router that dispatches each step as it is written
// and through one that waits for the whole plan.
type streamPlanBench struct {
	StreamingPlanMs float64 `json:"streaming_plan_ms"`
	WholePlanMs     float64 `json:"whole_plan_ms"`
	// StreamingPlanSpeedup is the streamed run's time over the other's
	// (target <= 0.8).
	StreamingPlanSpeedup float64 `json:"streaming_plan_speedup"`
}

const (
	// benchPlanLine is how long the planner model takes per plan line.
	benchPlanLine = 300 * time.Millisecond
	// benchStepLatency is how long each step takes.
	benchStepLatency = time.Second
)

// benchPlanAnswer is the planner's answer: three searches and a summary
// of each, in LLMCompiler's form. Every line is two streamed pieces
// ("N." and the call), so a line ends every benchPlanLine.
const benchPlanAnswer = "1. search(\"Lisbon\")\n2. search(\"Porto\")\n3. search(\"Faro\")\n" +
	"4. summarize(\"$1\")\n5. summarize(\"$2\")\n6. summarize(\"$3\")\n7. join()"

func benchStreamPlan(ctx context.Context) (streamPlanBench, error) {
	var sb streamPlanBench
	b, err := bus.Start(ctx, bus.Config{Name: "bench-streamplan"})
	if err != nil {
		return sb, unavailableError{err}
	}
	defer b.Close()
	up := openaitest.New()
	defer up.Close()
	up.Script("planner-1", openaitest.Behaviour{Reply: benchPlanAnswer, TokenDelay: benchPlanLine / 2})
	up.Script("step-1", openaitest.Behaviour{Reply: "found it", Latency: benchStepLatency})
	reg := registry.NewMemory()
	defer reg.Close()
	if err := startStreamPlanExecutor(ctx, b, reg, up.URL()); err != nil {
		return sb, err
	}
	cat, err := streamPlanCatalog()
	if err != nil {
		return sb, err
	}
	streaming, err := streamPlanRouter(b, reg, cat, false)
	if err != nil {
		return sb, err
	}
	defer streaming.Close()
	whole, err := streamPlanRouter(b, reg, cat, true)
	if err != nil {
		return sb, err
	}
	defer whole.Close()
	var took [2]time.Duration
	var errs [2]error
	var wg sync.WaitGroup
	for k, r := range []*router.Router{streaming, whole} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			resp := r.Handle(ctx, task.Request{Input: "Search Lisbon, Porto and Faro and summarize each."}, nil)
			took[k] = time.Since(start)
			if resp.Error != nil {
				errs[k] = resp.Error
			} else if n := len(resp.Plan.Tasks); n != 6 {
				errs[k] = fmt.Errorf("the plan has %d steps, want 6", n)
			}
		}()
	}
	wg.Wait()
	for k, name := range []string{"streamed", "whole"} {
		if errs[k] != nil {
			return sb, fmt.Errorf("the %s plan's request: %w", name, errs[k])
		}
	}
	sb.StreamingPlanMs, sb.WholePlanMs = ms(took[0]), ms(took[1])
	sb.StreamingPlanSpeedup = round3(took[0].Seconds() / took[1].Seconds())
	return sb, nil
}

func startStreamPlanExecutor(ctx context.Context, b *bus.Bus, reg registry.Registry, url string) error {
	var served []executors.Served
	for _, spec := range []task.ModelSpec{
		{Name: "bench/planner", UpstreamModel: "planner-1", Capabilities: []string{llm.Capability}},
		{Name: "bench/step", UpstreamModel: "step-1", Capabilities: []string{"search", "summarize"}},
	} {
		spec.Backend, spec.BaseURL, spec.Concurrency = task.BackendOpenAI, url, 32
		m, err := openai.New(spec, "")
		if err != nil {
			return err
		}
		served = append(served, executors.Served{Spec: spec, Model: m})
	}
	nc, err := b.Connect("bench-streamplan-executor")
	if err != nil {
		return err
	}
	_, err = executors.Start(ctx, nc, executors.Config{ID: "bench-streamplan", Announcer: reg, Models: served})
	return err
}

func streamPlanCatalog() (*task.Catalog, error) {
	text := []string{"text"}
	return task.NewCatalog(
		task.Capability{Name: llm.Capability, Description: "Plans a request.", Inputs: text, Outputs: text},
		task.Capability{Name: "search", Description: "Searches the web.", Inputs: text, Outputs: text},
		task.Capability{Name: "summarize", Description: "Summarizes text.", Inputs: text, Outputs: text})
}

// streamPlanRouter is a router whose LLM planner asks through it; with
// whole set, it sees only the planner's Plan and so waits for the whole
// plan, which it reads from the same streamed answer: a model writes a
// plan at the same pace whether it streams it or not.
func streamPlanRouter(b *bus.Bus, reg registry.Registry, cat *task.Catalog, whole bool) (*router.Router, error) {
	gen := &lateGenerator{}
	lp, err := llm.New(gen, cat)
	if err != nil {
		return nil, err
	}
	var pl router.Planner = lp
	name := "bench-streamplan-streamed"
	if whole {
		pl, name = wholePlanner{lp}, "bench-streamplan-whole"
	}
	nc, err := b.Connect(name)
	if err != nil {
		return nil, err
	}
	r, err := router.New(nc, reg, pl, router.Config{Catalog: cat, AcceptTimeout: 10 * time.Second})
	if err != nil {
		return nil, err
	}
	gen.r = r
	return r, nil
}

// wholePlanner hides a streaming planner's PlanStream: it streams the
// model's answer and returns the plan once it is whole.
type wholePlanner struct{ sp router.StreamPlanner }

func (w wholePlanner) Plan(ctx context.Context, req task.Request) (task.Plan, error) {
	return w.sp.PlanStream(ctx, req, func(int, task.Subtask) {})
}

func printStreamPlanBench(w io.Writer, sb streamPlanBench) {
	fmt.Fprintf(w, "streaming plan speedup   %.3f (%.0f ms dispatching as a six-step plan is written, %.0f ms after it; %s a line, %s a step; target <= 0.8)\n",
		sb.StreamingPlanSpeedup, sb.StreamingPlanMs, sb.WholePlanMs, benchPlanLine, benchStepLatency)
}
