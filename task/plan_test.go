package task

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func st(id, capability, input string, deps ...string) Subtask {
	if deps == nil {
		deps = []string{}
	}
	return Subtask{ID: id, Capability: capability, Input: input, Deps: deps}
}

func chain(n int) Plan {
	p := Plan{}
	for i := 1; i <= n; i++ {
		s := st("t"+itoa(i), "x", "in")
		if i > 1 {
			s.Deps = []string{"t" + itoa(i-1)}
			s.Input = "{{t" + itoa(i-1) + "}}"
		}
		p.Tasks = append(p.Tasks, s)
	}
	return p
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func TestValidate(t *testing.T) {
	known := func(c string) bool { return c != "unknown" }
	many := Plan{}
	for i := 1; i <= 65; i++ {
		many.Tasks = append(many.Tasks, st("t"+itoa(i), "x", ""))
	}
	cases := []struct {
		name    string
		plan    Plan
		subtask string // "" with ok=false means a plan-wide error
		ok      bool
		msg     string
	}{
		{"single", Plan{Tasks: []Subtask{st("t1", "x", "hello")}}, "", true, ""},
		{"dag", Plan{Tasks: []Subtask{st("t1", "x", "a"), st("t2", "x", "b"), st("t3", "x", "{{t1}} {{ t2 }}", "t1", "t2")}}, "", true, ""},
		{"empty", Plan{}, "", false, "no subtasks"},
		{"duplicate id", Plan{Tasks: []Subtask{st("t1", "x", ""), st("t1", "x", "")}}, "t1", false, "used twice"},
		{"bad id", Plan{Tasks: []Subtask{st("t 1", "x", "")}}, "t 1", false, "ids are"},
		{"missing dep", Plan{Tasks: []Subtask{st("t1", "x", "", "t2")}}, "t1", false, "not in the plan"},
		{"self dep", Plan{Tasks: []Subtask{st("t1", "x", "", "t1")}}, "t1", false, "itself"},
		{"cycle", Plan{Tasks: []Subtask{st("t1", "x", "", "t3"), st("t2", "x", "", "t1"), st("t3", "x", "", "t2")}}, "t1", false, "cycle"},
		{"reference not a dep", Plan{Tasks: []Subtask{st("t1", "x", ""), st("t2", "x", "{{t1}}")}}, "t2", false, "not one of its dependencies"},
		{"reference in args", Plan{Tasks: []Subtask{st("t1", "x", ""), {ID: "t2", Capability: "x", Args: map[string]string{"a": "{{t1}}"}, Deps: []string{}}}}, "t2", false, "{{t1}}"},
		{"unknown capability", Plan{Tasks: []Subtask{st("t1", "unknown", "")}}, "t1", false, "catalog"},
		{"no capability", Plan{Tasks: []Subtask{st("t1", "", "")}}, "t1", false, "no capability"},
		{"too many", many, "", false, "limit of 64"},
		{"depth 16 ok", chain(16), "", true, ""},
		{"too deep", chain(17), "t17", false, "levels deep"},
		{"input too big", Plan{Tasks: []Subtask{st("t1", "x", strings.Repeat("a", DefaultLimits.MaxInputBytes+1))}}, "t1", false, "bytes of input"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.plan.Validate(DefaultLimits, known)
			if c.ok {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalidPlan {
				t.Fatalf("error = %v, want invalid_plan", err)
			}
			if e.Subtask != c.subtask || !strings.Contains(e.Message, c.msg) {
				t.Fatalf("error = %+v, want subtask %q and message with %q", e, c.subtask, c.msg)
			}
		})
	}
}

func TestSubstituteAndReferences(t *testing.T) {
	s := Subtask{Input: "a {{t1}} b {{ t2 }} {{t1}} {{t9}}", Args: map[string]string{"x": "{{t3}}"}}
	if got := s.References(); strings.Join(got, ",") != "t1,t2,t9,t3" {
		t.Fatalf("References = %v", got)
	}
	got := Substitute(s.Input, map[string]string{"t1": "ONE", "t2": "{{t1}}"})
	if want := "a ONE b {{t1}} ONE {{t9}}"; got != want {
		t.Fatalf("Substitute = %q, want %q (outputs are not re-expanded)", got, want)
	}
}

func TestSinksAndDependents(t *testing.T) {
	p := Plan{Tasks: []Subtask{st("t1", "x", ""), st("t2", "x", "", "t1"), st("t3", "x", "")}}
	sinks := p.Sinks()
	if len(sinks) != 2 || sinks[0].ID != "t2" || sinks[1].ID != "t3" {
		t.Fatalf("Sinks = %+v", sinks)
	}
}

func TestCanonicalJSON(t *testing.T) {
	a, err := CanonicalJSON(map[string]any{"b": 1, "a": "<x>", "c": []int{2, 1}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":"<x>","b":1,"c":[2,1]}`; string(a) != want {
		t.Fatalf("CanonicalJSON = %s, want %s", a, want)
	}
}

func TestDecodePlanStrict(t *testing.T) {
	if _, err := DecodePlan([]byte(`{"tasks":[{"id":"t1","capability":"x","input":"","deps":[],"bogus":1}]}`)); err == nil {
		t.Fatal("an unknown field was accepted")
	}
	p, err := DecodePlan([]byte(`{"tasks":[{"id":"t1","capability":"x","input":"hi"}]}`))
	if err != nil || p.Tasks[0].Deps == nil {
		t.Fatalf("plan = %+v, err %v; deps must decode to an empty list", p, err)
	}
}

// TestPlanOrigin: the planner and fallback reason are left out of a plan's
// JSON when empty, so plans from callers and the rules encode as before,
// and survive a strict decode when set, so `taskrouter plan --json` output
// can be sent back as a request's plan. Validation ignores them.
func TestPlanOrigin(t *testing.T) {
	bare := Plan{Tasks: []Subtask{st("t1", "x", "hi")}}
	raw, err := CanonicalJSON(bare)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"tasks":[{"capability":"x","deps":[],"id":"t1","input":"hi"}]}`; string(raw) != want {
		t.Errorf("a plan without origin encodes as %s, want %s", raw, want)
	}
	marked := bare
	marked.Planner, marked.FallbackReason = "rules", `upstream: model "m" <down> & out`
	raw, err = CanonicalJSON(marked)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"fallback_reason":"upstream: model \"m\" <down> & out","planner":"rules","tasks":[`; !strings.HasPrefix(string(raw), want) {
		t.Errorf("a plan with origin encodes as %s, want it to start %s", raw, want)
	}
	back, err := DecodePlan(raw)
	if err != nil || back.Planner != marked.Planner || back.FallbackReason != marked.FallbackReason || len(back.Tasks) != 1 {
		t.Fatalf("DecodePlan(%s) = %+v, %v; want the plan back", raw, back, err)
	}
	if err := back.Validate(DefaultLimits, nil); err != nil {
		t.Errorf("a valid plan with origin failed validation: %v", err)
	}
}

func FuzzDecodeAndValidatePlan(f *testing.F) {
	f.Add([]byte(`{"tasks":[{"id":"t1","capability":"x","input":"a","deps":[]},{"id":"t2","capability":"x","input":"{{t1}}","deps":["t1"]}]}`))
	f.Add([]byte(`{"tasks":[{"id":"t1","capability":"x","input":"a","deps":[]}],"planner":"rules","fallback_reason":"upstream: down"}`))
	f.Add([]byte(`{"tasks":[{"id":"t1","capability":"x","input":"","deps":["t1"]}]}`))
	f.Add([]byte(`{"tasks":[]}`))
	f.Add([]byte(`not json`))
	f.Add([]byte(`{"tasks":[{"id":"t1","capability":"translate","input":"a","args":{"to":"{{t0}}","Target_Language":"fr","lang":"de"},"deps":[]}]}`))
	f.Add([]byte(`{"tasks":[{"id":"t1","capability":"x","input":"a","deps":[],"args":` + strings.Repeat("[", 200) + `]}]}`))
	f.Add([]byte(strings.Repeat(`{"tasks":`, 130)))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := DecodePlan(data)
		if err != nil {
			return
		}
		checkNormalised(t, p)
		if err := p.Validate(DefaultLimits, nil); err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalidPlan || e.Message == "" {
				t.Fatalf("validation error %v is not a described invalid_plan", err)
			}
			return
		}
		// A valid plan is acyclic with every reference a dependency: a
		// topological walk must reach every subtask.
		done := map[string]bool{}
		for progress := true; progress; {
			progress = false
			for _, s := range p.Tasks {
				if done[s.ID] {
					continue
				}
				ready := true
				for _, d := range s.Deps {
					ready = ready && done[d]
				}
				if ready {
					done[s.ID], progress = true, true
				}
			}
		}
		if len(done) != len(p.Tasks) {
			t.Fatalf("a plan with a cycle passed validation: %s", data)
		}
	})
}

func FuzzSubstitute(f *testing.F) {
	f.Add("a {{t1}} b {{ t2 }} {{t1}} {{x", "ONE")
	f.Add("{{{{t1}}}}", "}}")
	f.Fuzz(func(t *testing.T, text, out string) {
		got := Substitute(text, map[string]string{"t1": out})
		if !strings.Contains(text, "{{") && got != text {
			t.Fatalf("text without references changed: %q -> %q", text, got)
		}
		refs := Subtask{Input: got}.References()
		for _, r := range refs {
			if r == "t1" && !strings.Contains(out, "t1") && !strings.Contains(text, "t1}") {
				t.Fatalf("reference t1 left in %q from %q", got, text)
			}
		}
	})
}

// checkNormalised: normalising twice changes nothing more, and neither
// changes the references a subtask makes.
func checkNormalised(t *testing.T, p Plan) {
	t.Helper()
	n := p.Normalised()
	if again := n.Normalised(); !reflect.DeepEqual(again, n) {
		t.Fatalf("normalising is not idempotent: %+v then %+v", n, again)
	}
	for i := range p.Tasks {
		if !slices.Equal(sortedRefs(p.Tasks[i]), sortedRefs(n.Tasks[i])) {
			t.Fatalf("normalising changed the references of %q: %v -> %v", p.Tasks[i].ID, p.Tasks[i].Args, n.Tasks[i].Args)
		}
	}
}

func sortedRefs(s Subtask) []string { return slices.Sorted(slices.Values(s.References())) }

func TestOnlySink(t *testing.T) {
	p := Plan{Tasks: []Subtask{{ID: "a"}, {ID: "b", Deps: []string{"a"}}, {ID: "c", Deps: []string{"a"}}, {ID: "d", Deps: []string{"b", "c"}}}}
	if sinks := p.Sinks(); len(sinks) != 1 || sinks[0].ID != "d" || !p.IsSink("d") || p.IsSink("a") || p.IsSink("b") {
		t.Fatalf("sinks of a diamond: %+v", sinks)
	}
	if s, ok := p.OnlySink(); !ok || s.ID != "d" {
		t.Fatalf("OnlySink = %+v, %v", s, ok)
	}
	p.Tasks = p.Tasks[:3]
	if sinks := p.Sinks(); len(sinks) != 2 || sinks[0].ID != "b" || sinks[1].ID != "c" {
		t.Fatalf("sinks of a fork: %+v", sinks)
	}
	if _, ok := p.OnlySink(); ok {
		t.Fatal("a fork has an only sink")
	}
}
