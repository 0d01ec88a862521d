package llm

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

func testCatalog(t testing.TB) *task.Catalog {
	t.Helper()
	cat, err := task.NewCatalog(
		task.Capability{Name: "summarize", Description: "Summarize text", Inputs: []string{"text"}, Outputs: []string{"text"}},
		task.Capability{Name: "translate", Description: "Translate text", Inputs: []string{"text"}, Outputs: []string{"text"}},
		task.Capability{Name: "keywords", Description: "Key phrases", Inputs: []string{"text"}, Outputs: []string{"json"}},
		task.Capability{Name: "sentiment", Description: "Sentiment", Inputs: []string{"text"}, Outputs: []string{"text"}},
		task.Capability{Name: "code", Description: "Write code", Inputs: []string{"text"}, Outputs: []string{"text"}},
		task.Capability{Name: "plan", Description: "Plan a request", Inputs: []string{"text"}, Outputs: []string{"json"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func st(id, capability, input string, args map[string]string, deps ...string) task.Subtask {
	if deps == nil {
		deps = []string{}
	}
	return task.Subtask{ID: id, Capability: capability, Input: input, Args: args, Deps: deps}
}

func TestParseForms(t *testing.T) {
	chain := task.Plan{Tasks: []task.Subtask{
		st("t1", "summarize", "Q3 report", nil),
		st("t2", "translate", "{{t1}}", map[string]string{"target_lang": "fr"}, "t1"),
	}}
	cases := []parseCase{
		{"project form", `{"tasks":[{"id":"t1","capability":"summarize","input":"Q3 report","deps":[]},` +
			`{"id":"t2","capability":"translate","input":"{{t1}}","args":{"target_lang":"fr"},"deps":["t1"]}]}`, chain, 0},
		{"prose and fence", "Sure! Here is the plan:\n```json\n{\"tasks\": [\n {\"id\": \"t1\", \"capability\": \"summarize\", \"input\": \"Q3 report\"},\n" +
			" {\"id\": \"t2\", \"capability\": \"translate\", \"input\": \"{{t1}}\", \"args\": {\"target_lang\": \"fr\"}, \"deps\": [\"t1\"]},\n]}\n```\nLet me know!", chain, 0},
		{"trailing commas and implied deps", `Plan: {"tasks":[{"id":"t1","capability":"summarize","input":"Q3 report",},` +
			`{"id":"t2","capability":"translate","input":"{{t1}}","args":{"target_lang":"fr",},},],}`, chain, 0},
		{"hugginggpt", `[{"task": "summarize", "id": 0, "dep": [-1], "args": {"text": "Q3 report"}},` +
			` {"task": "translate", "id": 1, "dep": [0], "args": {"text": "<GENERATED>-0", "target_lang": "fr"}}]`, chain, 0},
		{"hugginggpt resource, no dep", `[{"task":"summarize","id":0,"dep":[-1],"args":{"text":"Q3 report"}},` +
			`{"task":"translate","id":1,"dep":[-1],"args":{"text":"<resource>-0","target_lang":"fr"}}]`, chain, 0},
		{"llmcompiler dollar refs", `{"plan":[{"id":1,"tool":"summarize","input":"Q3 report"},{"id":2,"tool":"translate","input":"$1","args":{"target_lang":"fr"}}]}`, chain, 0},
		{"string numeric ids and braces", `{"tasks":[{"id":"1","capability":"summarize","input":"Q3 report"},{"id":"2","capability":"translate","input":"{{1}}","args":{"target_lang":"fr"},"deps":["1"]}]}`, chain, 0},
		{"kept custom ids", `{"tasks":[{"id":"sum","capability":"summarize","input":"Q3 report"},{"id":"fr","capability":"translate","input":"{{sum}}","args":{"target_lang":"fr"}}]}`,
			task.Plan{Tasks: []task.Subtask{st("sum", "summarize", "Q3 report", nil), st("fr", "translate", "{{sum}}", map[string]string{"target_lang": "fr"}, "sum")}}, 0},
		{"single task object", `{"capability":"code","input":"prime check in Go"}`,
			task.Plan{Tasks: []task.Subtask{st("t1", "code", "prime check in Go", nil)}}, 0},
		{"money is not a reference", `{"tasks":[{"id":"t1","capability":"summarize","input":"it costs $5 and $1"}]}`,
			task.Plan{Tasks: []task.Subtask{st("t1", "summarize", "it costs $5 and $1", nil)}}, 0},
		{"forward reference dropped", `{"tasks":[{"id":"t1","capability":"summarize","input":"Q3 report {{t2}}"},{"id":"t2","capability":"translate","input":"{{t1}}","args":{"target_lang":"fr"}}]}`,
			task.Plan{Tasks: []task.Subtask{st("t1", "summarize", "Q3 report ", nil), st("t2", "translate", "{{t1}}", map[string]string{"target_lang": "fr"}, "t1")}}, 1},
		{"self dependency dropped", `{"tasks":[{"id":"t1","capability":"summarize","input":"Q3 report","deps":["t1"]}]}`,
			task.Plan{Tasks: []task.Subtask{st("t1", "summarize", "Q3 report", nil)}}, 1},
		{"capability case and numeric arg", `{"tasks":[{"id":"t1","capability":" Summarize ","input":"Q3 report","args":{"max_sentences":2}}]}`,
			task.Plan{Tasks: []task.Subtask{st("t1", "summarize", "Q3 report", map[string]string{"sentences": "2"})}}, 0},
		{"hugginggpt target_language", `[{"task": "summarize", "id": 0, "dep": [-1], "args": {"text": "Q3 report"}},` +
			` {"task": "translate", "id": 1, "dep": [0], "args": {"text": "<GENERATED>-0", "target_language": "fr"}}]`, chain, 0},
		{"llmcompiler to", `{"plan":[{"id":1,"tool":"summarize","input":"Q3 report"},{"id":2,"tool":"translate","input":"$1","args":{"to":"fr"}}]}`, chain, 0},
		{"numbered calls tgt_lang", "1. summarize(\"Q3 report\")\n2. translate(\"$1\", tgt_lang=\"fr\")", chain, 0},
	}
	cat := testCatalog(t)
	checkParses(t, cat, cases)
}

func TestParseRejects(t *testing.T) {
	cases := []rejectCase{
		{"no json", "I think you should summarize it first.", "no plan JSON"},
		{"unknown capability", `{"tasks":[{"id":"t1","capability":"image-to-text","input":"x"}]}`, "does not have"},
		{"unknown dependency", `{"tasks":[{"id":"t1","capability":"summarize","input":"x","deps":["t7"]}]}`, "not in the plan"},
		{"unknown reference", `{"tasks":[{"id":"t1","capability":"summarize","input":"{{t9}}"}]}`, "not in the plan"},
		{"no capability", `{"tasks":[{"id":"t1","input":"x"}, {"id":"t2","capability":"code"}]}`, "no capability"},
		{"empty list", `{"tasks":[]}`, "no plan JSON"},
		{"too many", `[` + strings.Repeat(`{"capability":"code","input":"x"},`, 70) + `]`, "more than the limit"},
		// gjson's validator walks JSON recursively: 500,000 levels cost
		// some 100 MB of stack, and a plan nests four.
		{"deep", "Plan:\n" + strings.Repeat("[", 500_000) + strings.Repeat("]", 500_000), "nested more than 128 levels deep"},
		{"deep args", `{"tasks":[{"id":"t1","capability":"summarize","input":"x","args":` + strings.Repeat(`{"a":`, 200) + `1` + strings.Repeat("}", 200) + `}]}`, "nested more than 128 levels deep"},
	}
	cat := testCatalog(t)
	checkRejects(t, cat, cases)
}

func TestStripTrailingCommas(t *testing.T) {
	cases := map[string]string{
		`[1,2,]`:              `[1,2]`,
		`{"a":"x,]",}`:        `{"a":"x,]"}`,
		`{"a":"\",}", "b":1}`: `{"a":"\",}", "b":1}`,
		"[1,\n ]":             "[1\n ]",
	}
	for in, want := range cases {
		if got := stripTrailingCommas(in); got != want {
			t.Errorf("stripTrailingCommas(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	seeds := []string{
		`{"tasks":[{"id":"t1","capability":"summarize","input":"x"}]}`,
		"```json\n[{\"task\":\"summarize\",\"id\":0,\"dep\":[-1],\"args\":{\"text\":\"<GENERATED>-0\"}},]\n```",
		`{"plan":[{"id":1,"tool":"code","input":"$1 ${2}"},{"id":2,"tool":"translate","input":"$1","deps":[1,2,"x"]}]}`,
		`[{"id":"a","capability":"code","input":"{{b}}"},{"id":"b","capability":"code","input":"{{a}}","deps":["a"]}]`,
		`{"capability":"code"`, `[[[[`, `{"tasks":{"x":1}}`,
		`[{"task":"translate","id":0,"dep":[-1],"args":{"text":"hi","target_language":"French","to":"de"}}]`,
		strings.Repeat("[", 200) + strings.Repeat("]", 200), `{"tasks":[{"id":"t1","capability":"code","input":"x","args":` + strings.Repeat("[", 130) + strings.Repeat("]", 130) + `}]}`,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	cat := testCatalog(f)
	lim := task.Limits{MaxSubtasks: 8, MaxDepth: 4, MaxInputBytes: 4096}
	f.Fuzz(func(t *testing.T, answer string) {
		plan, _, err := Parse(answer, cat, lim)
		if err != nil {
			return
		}
		if verr := plan.Validate(lim, cat.Has); verr != nil {
			t.Fatalf("Parse returned a plan that does not validate: %v\nanswer: %q", verr, answer)
		}
	})
}

// parseCase is an answer Parse must read into want, with that many warnings.
type parseCase struct {
	name     string
	answer   string
	want     task.Plan
	warnings int
}

func checkParses(t *testing.T, cat *task.Catalog, cases []parseCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, warnings, err := Parse(c.answer, cat, task.Limits{})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("plan\n got %+v\nwant %+v", got, c.want)
			}
			if len(warnings) != c.warnings {
				t.Errorf("warnings = %q, want %d", warnings, c.warnings)
			}
		})
	}
}

// rejectCase is an answer Parse must refuse with an invalid_plan error
// that mentions want.
type rejectCase struct{ name, answer, want string }

func checkRejects(t *testing.T, cat *task.Catalog, cases []rejectCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Parse(c.answer, cat, task.Limits{})
			if err == nil {
				t.Fatal("Parse accepted the answer")
			}
			var te *task.Error
			if !errors.As(err, &te) || te.Code != task.CodeInvalidPlan {
				t.Errorf("error %v is not a CodeInvalidPlan *task.Error", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
		})
	}
}
