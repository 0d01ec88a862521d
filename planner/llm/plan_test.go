package llm

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

// scripted answers each Generate with the next answer in turn and keeps
// the work it was given.
type scripted struct {
	mu      sync.Mutex
	answers []string
	err     error
	seen    []task.Work
}

func (s *scripted) Generate(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = append(s.seen, w)
	if err := ctx.Err(); err != nil {
		return task.Output{}, err
	}
	if s.err != nil {
		return task.Output{}, s.err
	}
	a := s.answers[0]
	if len(s.answers) > 1 {
		s.answers = s.answers[1:]
	}
	return task.Output{Text: a, Usage: task.Usage{PromptTokens: 100, CompletionTokens: 20}}, nil
}

const goodAnswer = `{"tasks":[{"id":"t1","capability":"summarize","input":"the report"}]}`

func TestPlanAttempts(t *testing.T) {
	cases := []struct {
		name         string
		answers      []string
		wantErr      bool
		wantAttempts int
	}{
		{"first answer good", []string{goodAnswer}, false, 1},
		{"garbage then good", []string{"no idea", goodAnswer}, false, 2},
		{"unknown capability twice", []string{`[{"task":"image-to-text","id":0}]`}, true, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gen := &scripted{answers: c.answers}
			p, err := New(gen, testCatalog(t))
			if err != nil {
				t.Fatal(err)
			}
			plan, tr, err := p.PlanTrace(context.Background(), task.Request{ID: "r1", Input: "Summarize the report"})
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, c.wantErr)
			}
			if tr.Attempts != c.wantAttempts || len(gen.seen) != c.wantAttempts {
				t.Errorf("attempts = %d (calls %d), want %d", tr.Attempts, len(gen.seen), c.wantAttempts)
			}
			if tr.Usage.PromptTokens != 100*c.wantAttempts {
				t.Errorf("usage = %+v, not summed over %d attempts", tr.Usage, c.wantAttempts)
			}
			if c.wantErr {
				var te *task.Error
				if !errors.Is(err, ErrNoPlan) || !errors.As(err, &te) || te.Code != task.CodeInvalidPlan {
					t.Errorf("err = %v, want ErrNoPlan and CodeInvalidPlan", err)
				}
				return
			}
			if len(plan.Tasks) != 1 || plan.Tasks[0].Capability != "summarize" {
				t.Errorf("plan = %+v", plan)
			}
			if c.wantAttempts > 1 && !strings.Contains(gen.seen[1].Input, "It was rejected") {
				t.Errorf("the retry does not show the model why it was rejected:\n%s", gen.seen[1].Input)
			}
		})
	}
}

func TestPlanPrompt(t *testing.T) {
	gen := &scripted{answers: []string{goodAnswer}}
	p, err := New(gen, testCatalog(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Plan(context.Background(), task.Request{Input: "Summarize the report"}); err != nil {
		t.Fatal(err)
	}
	w := gen.seen[0]
	if w.Capability != Capability {
		t.Errorf("capability = %q, want %q", w.Capability, Capability)
	}
	for _, want := range []string{"- summarize: Summarize text [text -> text]", `"tasks"`, "Request: Summarize the report\nPlan:", "target_lang"} {
		if !strings.Contains(w.Input, want) {
			t.Errorf("prompt lacks %q:\n%s", want, w.Input)
		}
	}
	if strings.Contains(w.Input, "- plan:") {
		t.Error("the prompt offers the plan capability itself")
	}
}

func TestPlanErrors(t *testing.T) {
	upstream := task.Errorf(task.CodeRateLimited, "slow down")
	p, err := New(&scripted{err: upstream}, testCatalog(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Plan(context.Background(), task.Request{Input: "x"}); !errors.Is(err, upstream) {
		t.Errorf("generator error lost: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p, _ = New(&scripted{answers: []string{goodAnswer}}, testCatalog(t))
	if _, err := p.Plan(ctx, task.Request{Input: "x"}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled plan: err = %v", err)
	}
	if _, err := p.Plan(context.Background(), task.Request{}); err == nil {
		t.Error("an empty request was planned")
	}
}

func TestNewRejects(t *testing.T) {
	cat := testCatalog(t)
	bad := Example{Request: "x", Plan: task.Plan{Tasks: []task.Subtask{st("t1", "dance", "x", nil)}}}
	cases := map[string]func() (*Planner, error){
		"nil generator": func() (*Planner, error) { return New(nil, cat) },
		"nil catalog":   func() (*Planner, error) { return New(&scripted{}, nil) },
		"bad attempts":  func() (*Planner, error) { return New(&scripted{}, cat, WithAttempts(0)) },
		"bad example":   func() (*Planner, error) { return New(&scripted{}, cat, WithExamples(bad)) },
		"bad limits":    func() (*Planner, error) { return New(&scripted{}, cat, WithLimits(task.Limits{MaxDepth: -1})) },
	}
	for name, mk := range cases {
		if _, err := mk(); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

// Capabilities asked for by an endpoint of their own (embed, complete)
// are not offered to the model that plans.
func TestPlanPromptLeavesOutDirectCapabilities(t *testing.T) {
	gen := &scripted{answers: []string{goodAnswer}}
	p, err := New(gen, task.BuiltinCatalog())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Plan(context.Background(), task.Request{Input: "Summarize the report"}); err != nil {
		t.Fatal(err)
	}
	for _, direct := range []string{"- embed:", "- complete:"} {
		if strings.Contains(gen.seen[0].Input, direct) {
			t.Errorf("the prompt offers %s", direct)
		}
	}
	if !strings.Contains(gen.seen[0].Input, "- summarize:") {
		t.Error("the prompt lost the plannable capabilities")
	}
}

// A tool's input schema is in the prompt, so the model writes its
// arguments; the arguments it writes reach the plan.
func TestPlanPromptShowsToolSchemas(t *testing.T) {
	cat, _ := task.BuiltinCatalog().With(task.Capability{Name: "everything-get-sum", Description: "Returns the sum of two numbers",
		InputSchema: []byte(`{"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"]}`)})
	gen := &scripted{answers: []string{`{"tasks":[{"id":"t1","capability":"everything-get-sum","input":"","args":{"a":17,"b":"25"}}]}`}}
	p, err := New(gen, cat)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := p.Plan(context.Background(), task.Request{Input: "Add 17 and 25 with the sum tool"})
	if err != nil {
		t.Fatal(err)
	}
	prompt := gen.seen[0].Input
	for _, want := range []string{`- everything-get-sum: Returns the sum of two numbers`, `args schema: {"type":"object","properties":{"a":{"type":"number"}`, "is a tool: write its arguments in args"} {
		if !strings.Contains(prompt, want) {
			t.Errorf("prompt lacks %q:\n%s", want, prompt)
		}
	}
	if args := plan.Tasks[0].Args; args["a"] != "17" || args["b"] != "25" {
		t.Errorf("args %v", args)
	}
}
