package planner

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

var update = flag.Bool("update", false, "rewrite the expected plans of testdata/golden from the planner's output (review every change by hand)")

// goldenSeparator divides a golden file into the request and the plan.
const goldenSeparator = "\n==== plan ====\n"

// testCatalog is the built-in catalog plus the capabilities of
// testdata/catalog.yaml, which exist nowhere else.
func testCatalog(t testing.TB) *task.Catalog {
	t.Helper()
	extra, err := LoadCatalogFile(filepath.Join("testdata", "catalog.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := task.BuiltinCatalog().With(extra...)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// TestGolden plans every request in testdata/golden with the rules planner
// and compares the plan with the expected one. The auto planner, with no
// LLM, must agree; the single planner must give one subtask, the same one
// when the rules give one; and a catalog whose capabilities all have other
// names must give the same plan under those names, since nothing in the
// planner may know a capability by its name.
func TestGolden(t *testing.T) {
	cat := testCatalog(t)
	rulesP, err := New(ModeRules, cat)
	if err != nil {
		t.Fatal(err)
	}
	autoP, err := New(ModeAuto, cat)
	if err != nil {
		t.Fatal(err)
	}
	singleP, err := New(ModeSingle, cat)
	if err != nil {
		t.Fatal(err)
	}
	renamedP, err := New(ModeRules, renamed(t, cat), WithFallback("x-chat"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("testdata", "golden", "*.txt"))
	if err != nil || len(files) < 80 {
		t.Fatalf("want at least 80 golden files, found %d (%v)", len(files), err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			input, want := readGolden(t, file)
			got := planJSON(t, rulesP, input)
			if *update {
				writeGolden(t, file, input, got)
				return
			}
			if got != want {
				t.Errorf("request:\n%s\ngot plan:\n%s\nwant:\n%s", input, got, want)
			}
			if auto := planJSON(t, autoP, input); auto != got {
				t.Errorf("auto and rules disagree on\n%s\nauto:\n%s\nrules:\n%s", input, auto, got)
			}
			if other := planJSON(t, renamedP, input); other != strings.ReplaceAll(got, `"capability": "`, `"capability": "x-`) {
				t.Errorf("renaming the capabilities changed the plan of\n%s\nrenamed:\n%s\noriginal:\n%s", input, other, got)
			}
			single := planJSON(t, singleP, input)
			if strings.Count(got, `"id":`) == 1 && single != got {
				t.Errorf("single and a one-subtask rules plan disagree on\n%s\nsingle:\n%s\nrules:\n%s", input, single, got)
			}
			if n := strings.Count(single, `"id":`); n != 1 {
				t.Errorf("single planned %d subtasks for\n%s", n, input)
			}
		})
	}
}

func readGolden(t *testing.T, file string) (input, plan string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	input, plan, ok := strings.Cut(string(data), goldenSeparator)
	if !ok && !*update {
		t.Fatalf("%s: no separator line %q", file, strings.TrimSpace(goldenSeparator))
	}
	return input, strings.TrimSpace(plan)
}

func writeGolden(t *testing.T, file, input, plan string) {
	t.Helper()
	if err := os.WriteFile(file, []byte(input+goldenSeparator+plan+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// planJSON plans input and returns the plan as indented canonical JSON.
func planJSON(t *testing.T, p Planner, input string) string {
	t.Helper()
	plan, err := p.Plan(context.Background(), task.Request{Input: input})
	if err != nil {
		t.Fatalf("planning %q: %v", input, err)
	}
	raw, err := task.CanonicalJSON(plan)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// renamed returns the catalog with "x-" before every capability name.
func renamed(t *testing.T, cat *task.Catalog) *task.Catalog {
	t.Helper()
	var caps []task.Capability
	for _, c := range cat.All() {
		c.Name = "x-" + c.Name
		caps = append(caps, c)
	}
	out, err := task.NewCatalog(caps...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
