package router_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/task"
)

// replanning answers a first plan, and once asked with results (the
// joiner's question), the next round's plan.
func replanning(first string, next func(round int) string) openaitest.Behaviour {
	var rounds atomic.Int64
	return openaitest.Behaviour{TokenDelay: time.Millisecond, ReplyFunc: func(msgs []task.Message) string {
		if !strings.Contains(msgs[len(msgs)-1].Content, "A plan for it ran") {
			return first
		}
		return next(int(rounds.Add(1)) + 1)
	}}
}

func TestADeclaredReplanAsksThePlannerWithTheResults(t *testing.T) {
	e := newPlanEnv(t, router.Config{}, replanning("Thought: find out first.\n1. search(\"alpha\")\n2. replan()",
		func(int) string {
			return `{"tasks": [{"id": "t1", "capability": "summarize", "input": "what the search found"}]}`
		}))
	var calls atomic.Int64
	e.executor("steps", served("steps", counted(&calls), 8, "search", "summarize"))
	resp := e.handle("look alpha up, then decide")
	mustDone(t, resp)
	if e.up.Calls("planner-1") != 2 {
		t.Fatalf("the planner was asked %d times, want 2 (the plan, then once with the results)", e.up.Calls("planner-1"))
	}
	last, _ := e.up.Last("planner-1")
	if !strings.Contains(string(last.Body), "search(alpha)") {
		t.Errorf("the planner was not shown the results so far: %s", last.Body)
	}
	if ids := subtaskIDs(resp); ids != "t1 r2-t1" || !strings.Contains(resp.Answer, "summarize(what the search found)") {
		t.Fatalf("subtasks %s, answer %q", ids, resp.Answer)
	}
}

func TestAStepThatFailedForGoodIsReplanned(t *testing.T) {
	e := newPlanEnv(t, router.Config{}, replanning(`{"tasks": [{"capability": "slow", "input": "x"}, {"capability": "search", "input": "y"}]}`,
		func(int) string { return `{"tasks": [{"capability": "search", "input": "x, another way"}]}` }))
	broken := funcModel(func(context.Context, task.Work, func(string)) (task.Output, error) {
		return task.Output{}, task.Errorf(task.CodeInvalidRequest, "cannot do x")
	})
	var calls atomic.Int64
	e.executor("steps", served("broken", broken, 4, "slow"), served("steps", counted(&calls), 8, "search", "summarize"))
	resp := e.handle("do x and y")
	if resp.Error != nil {
		t.Fatalf("the request failed although a second round did what failed: %v", resp.Error)
	}
	if ids := subtaskIDs(resp); ids != "t1 t2 r2-t1" || !strings.Contains(resp.Answer, "search(x, another way)") || strings.Contains(resp.Answer, "cannot do x") {
		t.Fatalf("subtasks %s, answer %q", ids, resp.Answer)
	}
}

func TestReplanningIsBoundedByMaxRounds(t *testing.T) {
	always := func(round int) string {
		return `{"tasks": [{"capability": "search", "input": "round ` + string(rune('0'+round)) + `"}], "replan": true}`
	}
	for _, c := range []struct{ maxRounds, want int }{{0, 2}, {1, 1}, {3, 3}} {
		e := newPlanEnv(t, router.Config{MaxRounds: c.maxRounds}, replanning(`{"tasks": [{"capability": "search", "input": "round 1"}], "replan": true}`, always))
		var calls atomic.Int64
		e.executor("steps", served("steps", counted(&calls), 8, "search"))
		resp := e.handle("search until done")
		mustDone(t, resp)
		if got := e.up.Calls("planner-1"); got != c.want || int(calls.Load()) != c.want {
			t.Errorf("max_rounds %d: the planner was asked %d times and %d steps ran, want %d rounds", c.maxRounds, got, calls.Load(), c.want)
		}
	}
}

func TestNothingLeftEndsTheRounds(t *testing.T) {
	e := newPlanEnv(t, router.Config{MaxRounds: 4}, replanning(`{"tasks": [{"capability": "search", "input": "x"}], "replan": true}`,
		func(int) string { return "Nothing remains.\n```json\n{\"tasks\": []}\n```" }))
	var calls atomic.Int64
	e.executor("steps", served("steps", counted(&calls), 8, "search"))
	resp := e.handle("search x")
	mustDone(t, resp)
	if e.up.Calls("planner-1") != 2 || subtaskIDs(resp) != "t1" || resp.Answer != "search(x)" {
		t.Fatalf("planner calls %d, subtasks %s, answer %q", e.up.Calls("planner-1"), subtaskIDs(resp), resp.Answer)
	}
}

func subtaskIDs(resp task.Response) string {
	var ids []string
	for _, st := range resp.Subtasks {
		ids = append(ids, st.ID)
	}
	return strings.Join(ids, " ")
}
