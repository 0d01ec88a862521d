package llm

import (
	"errors"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

// compilerCatalog is the test catalog plus the tools LLMCompiler's own
// examples call.
func compilerCatalog(t testing.TB) *task.Catalog {
	t.Helper()
	cat, err := testCatalog(t).With(
		task.Capability{Name: "search", Description: "Search the web", Inputs: []string{"text"}, Outputs: []string{"text"}},
		task.Capability{Name: "math", Description: "Compute", Inputs: []string{"text"}, Outputs: []string{"text"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func TestParseCompiler(t *testing.T) {
	chain := task.Plan{Tasks: []task.Subtask{
		st("t1", "summarize", "Q3 report", nil),
		st("t2", "translate", "{{t1}}", map[string]string{"target_lang": "fr"}, "t1"),
	}}
	cases := []parseCase{
		{"thoughts, lists and end of plan", "Thought: I need to find the population and then compute.\n" +
			"1. search(\"population of France 2023\")\n2. search(\"population of Germany 2023\")\n" +
			"3. math(\"sum of $1 and $2\", [\"$1\", \"$2\"])\nThought: I can answer now.\n4. join()<END_OF_PLAN>",
			task.Plan{Tasks: []task.Subtask{
				st("t1", "search", "population of France 2023", nil),
				st("t2", "search", "population of Germany 2023", nil),
				st("t3", "math", "sum of {{t1}} and {{t2}}\n{{t1}}, {{t2}}", nil, "t1", "t2"),
			}}, 0},
		{"no thoughts, braced ref, keyword arg", "1. summarize('Q3 report')\n2. translate(\"${1}\", target_lang=\"fr\")\n3. join()", chain, 0},
		{"prose, fence, bare ref, query keyword", "Here is the plan:\n```\n1. search(query=\"Q3 report\", k=3)\n2. summarize($1)\n```\nDone.",
			task.Plan{Tasks: []task.Subtask{
				st("t1", "search", "Q3 report", map[string]string{"k": "3"}),
				st("t2", "summarize", "{{t1}}", nil, "t1"),
			}}, 0},
		{"nested quotes and escapes", `1. search("the \"Dune\" novel's author")` + "\n" + `2. summarize('it\'s "$1"\tnow', style='a\\b')`,
			task.Plan{Tasks: []task.Subtask{
				st("t1", "search", `the "Dune" novel's author`, nil),
				st("t2", "summarize", "it's \"{{t1}}\"\tnow", map[string]string{"style": `a\b`}, "t1"),
			}}, 0},
		{"join with args ends the plan", "1. keywords(\"battery lasts for days\")\n2. join(\"$1\")\n3. code(\"never planned\")",
			task.Plan{Tasks: []task.Subtask{st("t1", "keywords", "battery lasts for days", nil)}}, 0},
		{"finish ends the plan", "1. code(\"prime check in Go\")\n2. Finish(\"$1\")\n3. code(\"never planned\")",
			task.Plan{Tasks: []task.Subtask{st("t1", "code", "prime check in Go", nil)}}, 0},
		{"end of plan without join", "1. code(\"prime check in Go\")<END_OF_PLAN>\n2. code(\"never planned\")",
			task.Plan{Tasks: []task.Subtask{st("t1", "code", "prime check in Go", nil)}}, 0},
		{"numbers fold after the first string", `1. math(40, "add 2 to this", 3.5)`,
			task.Plan{Tasks: []task.Subtask{st("t1", "math", "add 2 to this\n40\n3.5", nil)}}, 0},
		{"triple quotes span lines, steps inside them are text", "1. code(\"\"\"Steps:\n2. fake(\"x\")\n\"\"\")\n2. Summarize($1,)",
			task.Plan{Tasks: []task.Subtask{
				st("t1", "code", "Steps:\n2. fake(\"x\")\n", nil),
				st("t2", "summarize", "{{t1}}", nil, "t1"),
			}}, 0},
		{"arguments over several lines", "1. search(\"Q3 report\")\n2. math(\n    \"sum of $1\",\n    [\"$1\"],\n)\n3. join()",
			task.Plan{Tasks: []task.Subtask{
				st("t1", "search", "Q3 report", nil),
				st("t2", "math", "sum of {{t1}}\n{{t1}}", nil, "t1"),
			}}, 0},
		{"skipped numbers map to positions", "1. summarize(\"Q3 report\")\n3. translate(\"$1\", target_lang=\"fr\")\n4. code(\"$3\")",
			task.Plan{Tasks: []task.Subtask{
				chain.Tasks[0], chain.Tasks[1],
				st("t3", "code", "{{t2}}", nil, "t2"),
			}}, 0},
		{"forward reference dropped", "1. summarize(\"$2\")\n2. code(\"x\")",
			task.Plan{Tasks: []task.Subtask{st("t1", "summarize", "", nil), st("t2", "code", "x", nil)}}, 1},
		{"money is not a reference", "1. summarize(\"it costs $5\")",
			task.Plan{Tasks: []task.Subtask{st("t1", "summarize", "it costs $5", nil)}}, 0},
		{"plan JSON wins over numbered lines", "1. code(\"x\")\n" + `{"tasks":[{"id":"t1","capability":"summarize","input":"Q3 report"}]}`,
			task.Plan{Tasks: []task.Subtask{st("t1", "summarize", "Q3 report", nil)}}, 0},
	}
	cat := compilerCatalog(t)
	checkParses(t, cat, cases)
}

func TestParseCompilerRejects(t *testing.T) {
	cases := []rejectCase{
		{"no numbered lines", "Thought: I should search first.\nThen I will summarize it.", "no plan JSON"},
		{"numbered prose", "1. First search the web.\n2. Then summarize (briefly).", "no plan JSON"},
		{"only join", "Thought: nothing to do.\n1. join()<END_OF_PLAN>", "no plan JSON"},
		{"unknown tool", "1. image_caption(\"cat.png\")\n2. join()", `capability "image_caption", which the catalog does not have`},
		{"string not closed", "1. search(\"population of France\n2. join()", "reading step 1, search"},
		{"call not closed", "1. search(\"France\"\n2. search(\"Germany\")", "reading step 1, search"},
		{"junk after a string", "1. summarize(\"Q3\" report)\n", "unexpected"},
		{"empty argument", "1. summarize(\"Q3\", , \"x\")", "empty"},
		{"lists nest too deep", "1. summarize(" + strings.Repeat("[", 40) + ")", "nest too deep"},
		{"reference to an unknown step", "1. summarize(\"{{t4}}\")", "not in the plan"},
	}
	cat := compilerCatalog(t)
	checkRejects(t, cat, cases)
}

func FuzzParseCompiler(f *testing.F) {
	seeds := []string{
		"Thought: find both.\n1. search(\"population of France\")\n2. search('Germany')\n3. math(\"sum of $1 and ${2}\", [\"$1\", \"$2\"])\n4. join()<END_OF_PLAN>",
		"1. summarize(query=\"x\", k=3, flag=None)\n2. translate($1, target_lang='fr')\n",
		"1. code(\"\"\"a\n2. b(\"\"\")\n2. code([[1, [2]], {'a': (1, 2)}], 'it\\'s')",
		"1. summarize(\"\\\"q\\\" \\\\ \\n\")\n02. Finish($1)",
		"1. code(", "1. code(\"", "1. code(x=", "1. code([", "1. code('''", "1. code(a==b, )",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	cat := compilerCatalog(f)
	lim := task.Limits{MaxSubtasks: 8, MaxDepth: 4, MaxInputBytes: 4096}
	f.Fuzz(func(t *testing.T, answer string) {
		raws, _, err := compilerTasks(answer)
		var te *task.Error
		if err != nil && (!errors.As(err, &te) || te.Code != task.CodeInvalidPlan) {
			t.Fatalf("compilerTasks error %v is not a CodeInvalidPlan *task.Error", err)
		}
		for _, rt := range raws {
			if rt.ID == "" || rt.Capability == "" || rt.Capability == "join" || rt.Capability == "finish" {
				t.Fatalf("compilerTasks read a task without id or capability, or a join: %+v", rt)
			}
		}
		plan, _, err := Parse(answer, cat, lim)
		if err != nil {
			if !errors.As(err, &te) || te.Code != task.CodeInvalidPlan {
				t.Fatalf("Parse error %v is not a CodeInvalidPlan *task.Error", err)
			}
			return
		}
		if verr := plan.Validate(lim, cat.Has); verr != nil {
			t.Fatalf("Parse returned a plan that does not validate: %v\nanswer: %q", verr, answer)
		}
	})
}
