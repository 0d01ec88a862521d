package planner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/taskrouter/taskrouter/task"
)

// TestAutoRecordsPlanner: with an LLM planner configured, the auto planner
// names the planner of every plan it returns, and a fallback to the rules
// says why on one short line.
func TestAutoRecordsPlanner(t *testing.T) {
	good := task.Plan{Tasks: []task.Subtask{{ID: "t1", Capability: "chat", Input: "hi", Deps: []string{}}},
		Planner: "stale", FallbackReason: "stale"}
	bad := task.Plan{Tasks: []task.Subtask{{ID: "t1", Capability: "teleport", Input: "hi", Deps: []string{}}}}
	tests := []struct {
		name        string
		llm         *scriptedLLM
		wantPlanner string
		wantTasks   int
		wantReason  string // exact, when set
		mentions    []string
	}{
		{"llm plan ok", &scriptedLLM{plan: good}, ModeLLM, 1, "", nil},
		{"llm error", &scriptedLLM{err: task.Errorf(task.CodeUpstream, "model down")}, ModeRules, 3,
			"upstream: model down", nil},
		{"wrapped llm error", &scriptedLLM{err: fmt.Errorf("asking the model for a plan: %w",
			task.Errorf(task.CodeAuth, "model %q: the upstream answered HTTP 401", "planner-model"))}, ModeRules, 3,
			`auth: model "planner-model": the upstream answered HTTP 401`, nil},
		{"invalid llm plan", &scriptedLLM{plan: bad}, ModeRules, 3, "",
			[]string{"invalid_plan", `"teleport"`, "catalog"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, p := range []Planner{mustAuto(t, tt.llm), mustNew(t, ModeAuto, tt.llm)} {
				plan, err := p.Plan(context.Background(), task.Request{Input: compound})
				if err != nil {
					t.Fatal(err)
				}
				if plan.Planner != tt.wantPlanner || len(plan.Tasks) != tt.wantTasks {
					t.Errorf("plan by %q with %d subtasks, want by %q with %d: %+v", plan.Planner, len(plan.Tasks), tt.wantPlanner, tt.wantTasks, plan)
				}
				if tt.wantPlanner == ModeLLM && plan.FallbackReason != "" {
					t.Errorf("the LLM's plan has fallback reason %q, want none", plan.FallbackReason)
				}
				if tt.wantReason != "" && plan.FallbackReason != tt.wantReason {
					t.Errorf("fallback reason %q, want %q", plan.FallbackReason, tt.wantReason)
				}
				for _, m := range tt.mentions {
					if !strings.Contains(plan.FallbackReason, m) {
						t.Errorf("fallback reason %q does not mention %s", plan.FallbackReason, m)
					}
				}
			}
		})
	}
}

// TestAutoWithoutLLMIsRules: with no LLM planner there is no choice to
// explain, so the plan carries no origin and equals the rules planner's
// (the golden files hold the two to that).
func TestAutoWithoutLLMIsRules(t *testing.T) {
	a, err := NewAuto(task.BuiltinCatalog())
	if err != nil {
		t.Fatal(err)
	}
	plan, err := a.Plan(context.Background(), task.Request{Input: compound})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Tasks) != 3 || plan.Planner != "" || plan.FallbackReason != "" {
		t.Errorf("auto without an LLM: %+v, want the rules' 3 subtasks and no origin", plan)
	}
}

// TestAutoFallbackReasonIsShort: an LLM error of many lines and bytes
// becomes one line within maxReasonBytes, cut on a rune boundary.
func TestAutoFallbackReasonIsShort(t *testing.T) {
	long := errors.New("the generator broke:\n\t" + strings.Repeat("défaillance ", 60) + "\nend")
	plan, err := mustAuto(t, &scriptedLLM{err: long}).Plan(context.Background(), task.Request{Input: compound})
	if err != nil {
		t.Fatal(err)
	}
	r := plan.FallbackReason
	if plan.Planner != ModeRules || len(r) > maxReasonBytes || !utf8.ValidString(r) || strings.ContainsAny(r, "\n\t") ||
		!strings.HasPrefix(r, "internal: the generator broke: défaillance") || !strings.HasSuffix(r, "…") {
		t.Errorf("fallback reason (%d bytes) %q, want one valid line of at most %d bytes, cut with …", len(r), r, maxReasonBytes)
	}
	// Two-byte runes shifted by one byte or none: the cut falls inside a
	// rune or between two.
	for _, pad := range []string{"", "x"} {
		got := fallbackReason(errors.New(pad + strings.Repeat("é", maxReasonBytes)))
		if len(got) > maxReasonBytes || len(got) < maxReasonBytes-2 || !utf8.ValidString(got) {
			t.Errorf("pad %q: reason of %d bytes, valid UTF-8 %v: %q", pad, len(got), utf8.ValidString(got), got)
		}
	}
}
