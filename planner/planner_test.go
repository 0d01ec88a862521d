package planner

import (
	"context"
	"errors"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

const compound = "Summarize this text, extract its keywords and detect its language: 'The fox jumps. The dog sleeps.'"

func TestNewModes(t *testing.T) {
	cat := task.BuiltinCatalog()
	for _, mode := range []string{"", ModeAuto, ModeRules, ModeSingle} {
		p, err := New(mode, cat)
		if err != nil {
			t.Fatalf("mode %q: %v", mode, err)
		}
		plan, err := p.Plan(context.Background(), task.Request{Input: compound})
		if err != nil {
			t.Fatalf("mode %q: %v", mode, err)
		}
		want := 3
		if mode == ModeSingle {
			want = 1
		}
		if len(plan.Tasks) != want {
			t.Errorf("mode %q planned %d subtasks, want %d", mode, len(plan.Tasks), want)
		}
	}
	if _, err := New(ModeLLM, cat); !errors.Is(err, ErrNoLLM) {
		t.Errorf("mode llm without an LLM planner: %v, want ErrNoLLM", err)
	}
	if _, err := New("magic", cat); err == nil {
		t.Error("an unknown mode was accepted")
	}
	if _, err := New(ModeAuto, nil); err == nil {
		t.Error("a nil catalog was accepted")
	}
	if _, err := New(ModeAuto, cat, WithFallback("nope")); err == nil {
		t.Error("a fallback missing from the catalog was accepted")
	}
	if _, err := New(ModeAuto, cat, WithLimits(task.Limits{MaxDepth: -1})); err == nil {
		t.Error("negative limits were accepted")
	}
}

func TestRequestOverrides(t *testing.T) {
	p, err := New(ModeRules, task.BuiltinCatalog())
	if err != nil {
		t.Fatal(err)
	}
	given := &task.Plan{Tasks: []task.Subtask{
		{ID: "a", Capability: "summarize", Input: "text", Deps: []string{}},
		{ID: "b", Capability: "translate", Input: "{{a}}", Args: map[string]string{"target_lang": "de"}, Deps: []string{"a"}},
	}}
	tests := []struct {
		name  string
		req   task.Request
		tasks int
		code  task.Code // when planning fails
	}{
		{"own plan", task.Request{Input: compound, Plan: given}, 2, ""},
		{"own plan without input", task.Request{Plan: given}, 2, ""},
		{"invalid own plan", task.Request{Plan: &task.Plan{Tasks: []task.Subtask{{ID: "a", Capability: "teleport", Deps: []string{}}}}}, 0, task.CodeInvalidPlan},
		{"single override", task.Request{Input: compound, Planner: ModeSingle}, 1, ""},
		{"auto override", task.Request{Input: compound, Planner: ModeAuto}, 3, ""},
		{"llm override without llm", task.Request{Input: compound, Planner: ModeLLM}, 0, task.CodeInvalidRequest},
		{"unknown override", task.Request{Input: compound, Planner: "magic"}, 0, task.CodeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := p.Plan(context.Background(), tt.req)
			if tt.code != "" {
				if got := task.AsError(err); got == nil || got.Code != tt.code {
					t.Fatalf("error %v, want code %s", err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(plan.Tasks) != tt.tasks {
				t.Errorf("%d subtasks, want %d", len(plan.Tasks), tt.tasks)
			}
			if tt.req.Plan != nil && plan.Tasks[1].Input != "{{a}}" {
				t.Errorf("the given plan was changed: %+v", plan)
			}
		})
	}
}

// scriptedLLM is an LLM planner that answers as told.
type scriptedLLM struct {
	plan  task.Plan
	err   error
	calls int
}

func (s *scriptedLLM) Plan(ctx context.Context, req task.Request) (task.Plan, error) {
	s.calls++
	if err := ctx.Err(); err != nil {
		return task.Plan{}, err
	}
	return s.plan, s.err
}

func TestAutoWithLLM(t *testing.T) {
	good := task.Plan{Tasks: []task.Subtask{{ID: "t1", Capability: "chat", Input: "hi", Deps: []string{}}}}
	bad := task.Plan{Tasks: []task.Subtask{{ID: "t1", Capability: "teleport", Input: "hi", Deps: []string{}}}}
	tests := []struct {
		name     string
		llm      *scriptedLLM
		wantCaps int
		wantLLM  bool
	}{
		{"llm plan used", &scriptedLLM{plan: good}, 1, true},
		{"llm error falls back", &scriptedLLM{err: task.Errorf(task.CodeUpstream, "model down")}, 3, false},
		{"invalid llm plan falls back", &scriptedLLM{plan: bad}, 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, p := range []Planner{mustAuto(t, tt.llm), mustNew(t, ModeAuto, tt.llm)} {
				plan, err := p.Plan(context.Background(), task.Request{Input: compound})
				if err != nil {
					t.Fatal(err)
				}
				if len(plan.Tasks) != tt.wantCaps || (plan.Tasks[0].Capability == "chat") != tt.wantLLM {
					t.Errorf("plan %+v: want %d subtasks, from the LLM: %v", plan, tt.wantCaps, tt.wantLLM)
				}
			}
		})
	}
	llm := &scriptedLLM{plan: good}
	p := mustNew(t, ModeLLM, llm)
	if plan, err := p.Plan(context.Background(), task.Request{Input: compound}); err != nil || plan.Tasks[0].Input != "hi" {
		t.Errorf("mode llm: %+v, %v", plan, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := mustAuto(t, llm).Plan(ctx, task.Request{Input: compound}); task.AsError(err).Code != task.CodeCancelled {
		t.Errorf("cancelled: %v, want a cancelled error, not a fallback plan", err)
	}
	if _, err := mustNew(t, ModeLLM, &scriptedLLM{plan: bad}).Plan(context.Background(), task.Request{Input: "x"}); task.AsError(err).Code != task.CodeInvalidPlan {
		t.Errorf("mode llm with an invalid plan: %v, want invalid_plan", err)
	}
}

func mustAuto(t *testing.T, llm Planner) *Auto {
	t.Helper()
	a, err := NewAuto(task.BuiltinCatalog(), WithLLM(llm))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mustNew(t *testing.T, mode string, llm Planner) Planner {
	t.Helper()
	p, err := New(mode, task.BuiltinCatalog(), WithLLM(llm))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSingleIgnoresCompounds(t *testing.T) {
	s, err := NewSingle(task.BuiltinCatalog())
	if err != nil {
		t.Fatal(err)
	}
	for _, input := range []string{
		compound,
		"Translate this into French and German: 'Good luck'",
		"Translate the summary of this article into French: 'Frogs.'",
	} {
		plan, err := s.Plan(context.Background(), task.Request{Input: input})
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Tasks) != 1 || len(plan.Tasks[0].Deps) != 0 {
			t.Errorf("single planned %+v for %q, want one subtask", plan, input)
		}
	}
}

// TestCatalogOnlyCapability plans with a capability that only a catalog
// file defines, under a name the planner has never seen.
func TestCatalogOnlyCapability(t *testing.T) {
	extra, err := DecodeCatalog([]byte(`
- name: haiku-writer
  description: Compose a haiku, a three-line Japanese poem of five, seven and five syllables
  inputs: [text]
  outputs: [text]
  examples: [Write a haiku about the sea, 写一首关于秋天的俳句]
  keywords: [haiku, 俳句, poem, syllables]
  titles: {en: Haiku, zh: 俳句}
`), "yaml")
	if err != nil {
		t.Fatal(err)
	}
	cat, err := task.BuiltinCatalog().With(extra...)
	if err != nil {
		t.Fatal(err)
	}
	p := mustNewCat(t, cat)
	for input, want := range map[string][]string{
		"Write a haiku about the autumn moon":                       {"haiku-writer"},
		"写一首关于春天的俳句，然后翻译成英文":                                        {"haiku-writer", "translate"},
		"Summarize this and turn the summary into a haiku: 'Text.'": {"summarize", "haiku-writer"},
	} {
		plan, err := p.Plan(context.Background(), task.Request{Input: input})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range plan.Tasks {
			got = append(got, s.Capability)
		}
		if len(got) != len(want) || got[len(got)-1] != want[len(want)-1] || got[0] != want[0] {
			t.Errorf("%q planned as %v, want %v", input, got, want)
		}
		if len(want) == 2 && (len(plan.Tasks[1].Deps) != 1 || plan.Tasks[1].Input != "{{t1}}") {
			t.Errorf("%q: second subtask %+v should take the first one's result", input, plan.Tasks[1])
		}
	}
}

func mustNewCat(t *testing.T, cat *task.Catalog) Planner {
	t.Helper()
	p, err := New(ModeRules, cat)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
