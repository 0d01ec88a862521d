package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/task"
)

// waitingPlanner streams a plan whose last step it writes only once the
// first has reached its model: it can only finish when steps run while
// the plan is written. (A lone first step waits for a second, so the
// first two come together; drafts count from 1.)
type waitingPlanner struct{ dispatched <-chan struct{} }

func (p waitingPlanner) Plan(ctx context.Context, req task.Request) (task.Plan, error) {
	return p.PlanStream(ctx, req, func(int, task.Subtask) {})
}

func (p waitingPlanner) PlanStream(ctx context.Context, _ task.Request, step func(int, task.Subtask)) (task.Plan, error) {
	plan := task.Plan{Tasks: []task.Subtask{
		{ID: "t1", Capability: "langid", Input: "Bonjour tout le monde", Deps: []string{}},
		{ID: "t2", Capability: "summarize", Input: "Hello world", Deps: []string{}},
	}}
	step(1, plan.Tasks[0])
	step(1, plan.Tasks[1])
	select {
	case <-p.dispatched:
	case <-ctx.Done():
		return task.Plan{}, ctx.Err()
	case <-time.After(10 * time.Second):
		return task.Plan{}, errors.New("the first step never ran while the plan was being written")
	}
	plan.Tasks = append(plan.Tasks, task.Subtask{ID: "t3", Capability: "summarize", Input: "Bonjour tout le monde", Deps: []string{}})
	step(1, plan.Tasks[2])
	return plan, nil
}

// A streamed chat completion of model taskrouter runs each step of a plan
// the planner streams as soon as it is written, as a request without
// stream does, instead of waiting for the whole plan.
func TestChatStreamRunsStepsWhileThePlanIsWritten(t *testing.T) {
	dispatched := make(chan struct{})
	var once sync.Once
	var calls atomic.Int32
	probe := func(context.Context, task.Work, func(string)) (task.Output, error) {
		calls.Add(1)
		once.Do(func() { close(dispatched) })
		return task.Output{Text: "fr"}, nil
	}
	e := newEnv(t, envOptions{planner: waitingPlanner{dispatched: dispatched}, models: []executors.Served{
		{Spec: task.ModelSpec{Name: "local/probe", Backend: task.BackendLocal, Capabilities: []string{"langid"}, Concurrency: 1}, Model: funcModel(probe)},
	}})
	resp := e.do("POST", "/v1/chat/completions", "", `{"model":"taskrouter","stream":true,"messages":[{"role":"user","content":"Which language is this, and summarize it"}]}`)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var text strings.Builder
	events := readSSE(t, resp.Body)
	for _, ev := range events {
		if ev.data == "[DONE]" {
			continue
		}
		var chunk struct {
			Choices []struct {
				Delta struct{ Content string } `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(ev.data), &chunk); err != nil || len(chunk.Choices) != 1 {
			t.Fatalf("event %q: %v", ev.data, err)
		}
		text.WriteString(chunk.Choices[0].Delta.Content)
	}
	// The merge's model (gpt-test, with chat) writes the answer.
	if text.String() != reply || events[len(events)-1].data != "[DONE]" || calls.Load() != 1 {
		t.Fatalf("streamed %q, last event %q, the first step ran %d times", text.String(), events[len(events)-1].data, calls.Load())
	}
}
