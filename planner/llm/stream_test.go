package llm

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

// streamAll feeds answer to a streamReader in pieces of size n and
// returns the tasks with, for each, how many bytes had been fed when it
// came out.
func streamAll(answer string, n int) ([]rawTask, []int, bool, error) {
	sr := &streamReader{}
	var out []rawTask
	var at []int
	for i := 0; i < len(answer); i += n {
		raws, err := sr.feed(answer[i:min(i+n, len(answer))])
		for range raws {
			at = append(at, min(i+n, len(answer)))
		}
		out = append(out, raws...)
		if err != nil {
			return out, at, false, err
		}
	}
	raws, err := sr.finish()
	for range raws {
		at = append(at, len(answer)+1)
	}
	return append(out, raws...), at, sr.replan, err
}

func TestStreamReaderYieldsEachTaskWhenItCloses(t *testing.T) {
	cases := []struct {
		name, answer string
		ends         []string // text that ends each task
		replan       bool
	}{
		{"project form in a fence", "Here is the plan:\n```json\n{\"tasks\": [\n" +
			`{"id": "t1", "capability": "summarize", "input": "the {report}"},` + "\n" +
			`{"id": "t2", "capability": "translate", "input": "{{t1}}", "args": {"target_lang": "fr"}, "deps": ["t1"]}` + "\n]}\n```",
			[]string{`{report}"}`, `["t1"]}`}, false},
		{"HuggingGPT", `[{"task": "summarize", "id": 0, "dep": [-1], "args": {"text": "a ] b"}}, {"task": "translate", "id": 1, "dep": [0], "args": {"text": "<GENERATED>-0"}}]`,
			[]string{`"a ] b"}}`, `"<GENERATED>-0"}}`}, false},
		{"LLMCompiler", "Thought: summarize, then translate.\n1. summarize(\"the (long) report\")\n2. translate(\"$1\", target_lang=\"fr\")\n3. join()<END_OF_PLAN>",
			[]string{`report")`, `"fr")`}, false},
		{"LLMCompiler that may need another round", "1. summarize(\"x\")\n2. replan()", []string{`"x")`}, true},
		{"project form declaring another round", `{"tasks": [{"capability": "summarize", "input": "x"}], "replan": true}`, []string{`"x"}`}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, n := range []int{1, 3, 7, len(c.answer)} {
				raws, at, replan, err := streamAll(c.answer, n)
				if err != nil || len(raws) != len(c.ends) || replan != c.replan {
					t.Fatalf("pieces of %d: tasks %+v, replan %v, err %v; want %d tasks, replan %v", n, raws, replan, err, len(c.ends), c.replan)
				}
				if n != 1 {
					continue
				}
				for k, end := range c.ends {
					if want := strings.Index(c.answer, end) + len(end); at[k] != want {
						t.Errorf("task %d came out after %d bytes, want %d (where it closes)", k+1, at[k], want)
					}
				}
			}
		})
	}
}

func TestStreamReaderRejectsAtTheEnd(t *testing.T) {
	for name, answer := range map[string]string{
		"list left open":        `{"tasks": [{"capability": "summarize", "input": "x"},`,
		"prose inside the list": `[{"capability": "summarize", "input": "x"}, and then translate]`,
		"unreadable call":       "1. summarize(\"x\")\n2. translate('unclosed\n3. join()",
	} {
		t.Run(name, func(t *testing.T) {
			_, _, _, err := streamAll(answer, 4)
			var te *task.Error
			if !errors.As(err, &te) || te.Code != task.CodeInvalidPlan {
				t.Fatalf("err = %v, want a CodeInvalidPlan *task.Error", err)
			}
		})
	}
}

// streamer streams each answer in turn to progress in pieces of a few
// bytes, stopping when ctx ends, and records how far each one got.
type streamer struct {
	mu      sync.Mutex
	answers []string
	sent    []int
}

func (s *streamer) Generate(ctx context.Context, w task.Work, progress func(string)) (task.Output, error) {
	s.mu.Lock()
	a := s.answers[0]
	if len(s.answers) > 1 {
		s.answers = s.answers[1:]
	}
	s.sent = append(s.sent, 0)
	k := len(s.sent) - 1
	s.mu.Unlock()
	for i := 0; i < len(a); i += 5 {
		if err := ctx.Err(); err != nil {
			return task.Output{}, err
		}
		progress(a[i:min(i+5, len(a))])
		s.mu.Lock()
		s.sent[k] = min(i+5, len(a))
		s.mu.Unlock()
	}
	return task.Output{Text: a, Usage: task.Usage{PromptTokens: 100}}, nil
}

type stepLog struct {
	mu    sync.Mutex
	steps []string
}

func (l *stepLog) step(draft int, s task.Subtask) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.steps = append(l.steps, strings.Repeat("*", draft-1)+s.ID+":"+s.Capability)
}

func TestPlanStreamStopsTheModelAtTheFirstInvalidStep(t *testing.T) {
	good := "1. summarize(\"x\")\n2. translate(\"$1\", target_lang=\"fr\")\n3. join()"
	cases := map[string]string{
		"unknown capability": "1. summarize(\"x\")\n2. paint(\"$1\")\n",
		"later step":         `[{"id": "t1", "capability": "summarize", "input": "{{t3}}"}, ` + strings.Repeat(" ", 200) + `{"id": "t2", "capability": "summarize", "input": "y"}]`,
		"missing dep":        `[{"task": "summarize", "id": 0, "dep": [-1], "args": {"text": "x"}}, {"task": "translate", "id": 1, "dep": [7], "args": {"text": "y"}}]`,
	}
	for name, bad := range cases {
		t.Run(name, func(t *testing.T) {
			padded := bad + strings.Repeat("\nThought: more to come.", 40)
			gen := &streamer{answers: []string{padded, good}}
			p, err := New(gen, testCatalog(t))
			if err != nil {
				t.Fatal(err)
			}
			var log stepLog
			plan, err := p.PlanStream(context.Background(), task.Request{ID: "r1", Input: "summarize x and translate it"}, log.step)
			if err != nil || len(plan.Tasks) != 2 {
				t.Fatalf("plan %+v, err %v", plan, err)
			}
			if gen.sent[0] >= len(padded) {
				t.Errorf("the model wrote its whole invalid answer (%d bytes): it should have been stopped", gen.sent[0])
			}
			if n := len(log.steps); n < 2 || log.steps[n-2] != "*t1:summarize" || log.steps[n-1] != "*t2:translate" {
				t.Errorf("steps = %v, want the second draft's t1 and t2 last", log.steps)
			}
		})
	}
}

func TestPlanStreamHandsOverTheSameSubtasksAsPlan(t *testing.T) {
	answer := "1. summarize(\"the report\")\n2. translate(\"$1\", target_lang=\"fr\")\n3. join()"
	whole, _, err := Parse(answer, testCatalog(t), task.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(&streamer{answers: []string{answer}}, testCatalog(t))
	if err != nil {
		t.Fatal(err)
	}
	var got []task.Subtask
	plan, err := p.PlanStream(context.Background(), task.Request{ID: "r1", Input: "summarize and translate"}, func(_ int, s task.Subtask) { got = append(got, s) })
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, whole.Tasks) || !reflect.DeepEqual(plan.Tasks, whole.Tasks) {
		t.Fatalf("streamed %+v\nplan %+v\nParse %+v", got, plan.Tasks, whole.Tasks)
	}
}

func FuzzStreamReader(f *testing.F) {
	for _, seed := range []string{
		"1. summarize(\"x\")\n2. translate(\"$1\", target_lang=\"fr\")\n3. join()<END_OF_PLAN>",
		`{"tasks": [{"id": "t1", "capability": "summarize", "input": "x"}], "replan": true}`,
		`[{"task": "summarize", "id": 0, "dep": [-1], "args": {"text": "a ] b \" {"}}]`,
		"```json\n[{\"capability\": \"x\"}, {\"capability\": [[[[\"y\"]]]]}]\n```",
		"1. f('''a\n)b''', [1, [2, $3]])\n2. replan()",
	} {
		f.Add(seed, uint8(3))
	}
	f.Fuzz(func(t *testing.T, answer string, n uint8) {
		if len(answer) > 4096 {
			return
		}
		whole, _, _, errWhole := streamAll(answer, max(len(answer), 1))
		pieces, _, _, errPieces := streamAll(answer, int(n%16)+1)
		if (errWhole == nil) != (errPieces == nil) || !reflect.DeepEqual(whole, pieces) {
			t.Fatalf("whole: %+v (%v)\nin pieces of %d: %+v (%v)", whole, errWhole, n%16+1, pieces, errPieces)
		}
		for _, rt := range whole {
			if rt.ID == "" {
				t.Fatalf("a task without id: %+v", rt)
			}
		}
	})
}

func TestReplanShowsTheResultsAndReadsNothingLeft(t *testing.T) {
	gen := &scripted{answers: []string{"All done.\n```json\n{\"tasks\": []}\n```"}}
	p, err := New(gen, testCatalog(t))
	if err != nil {
		t.Fatal(err)
	}
	results := []task.SubtaskState{
		{ID: "t1", Capability: "summarize", Status: task.StatusDone, Output: "the summary"},
		{ID: "t2", Capability: "translate", Status: task.StatusFailed, Error: &task.Error{Code: task.CodeUpstream, Message: "the model\nbroke"}},
	}
	plan, err := p.Replan(context.Background(), task.Request{ID: "r1", Input: "summarize and translate"}, results)
	if err != nil || len(plan.Tasks) != 0 {
		t.Fatalf("plan %+v, err %v; want no subtasks: nothing remains", plan, err)
	}
	in := gen.seen[0].Input
	for _, want := range []string{"- t1 (summarize): done: the summary", "- t2 (translate): failed: the model broke", `{"tasks": []}`} {
		if !strings.Contains(in, want) {
			t.Errorf("the replanning prompt lacks %q:\n%s", want, in)
		}
	}
	gen.answers = []string{`{"tasks": [{"capability": "translate", "input": "the summary", "args": {"target_lang": "fr"}}]}`}
	if plan, err = p.Replan(context.Background(), task.Request{ID: "r1", Input: "summarize and translate"}, results); err != nil || len(plan.Tasks) != 1 {
		t.Fatalf("plan %+v, err %v", plan, err)
	}
}
