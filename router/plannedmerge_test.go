package router_test

import (
	"context"
	"testing"

	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/task"
)

// A plan that ends with its own merge step (as LLMCompiler's end with a
// join), run where no model offers merge: the template writes the merge
// as it writes an implicit one, instead of the request failing with
// no_model after every other step succeeded.
func TestPlannedMergeWithoutAMergeModelUsesTheTemplate(t *testing.T) {
	text := []string{"text"}
	cat, err := task.NewCatalog(
		task.Capability{Name: "a", Description: "A", Titles: map[string]string{"en": "Alpha"}, Inputs: text, Outputs: text},
		task.Capability{Name: "b", Description: "B", Titles: map[string]string{"en": "Beta"}, Inputs: text, Outputs: text},
		task.Capability{Name: "merge", Description: "Writes the answer", Inputs: text, Outputs: text})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, router.Config{Catalog: cat})
	e.executor("x1", served("m", echo(0, nil), 4, "a", "b"))
	p := plan(sub("t1", "a", "x"), sub("t2", "b", "y"), sub("t3", "merge", "Combine {{t1}} and {{t2}}", "t1", "t2"))
	resp := e.router.Run(context.Background(), task.Request{Input: "do two things"}, p, nil)
	mustDone(t, resp)
	want := "## Alpha\n\na(x)\n\n## Beta\n\nb(y)"
	if got := resp.Subtasks[2]; got.Output != want || got.Model != "" || got.Attempts != 0 {
		t.Fatalf("t3 = %+v, want the template's %q with no model", got, want)
	}
	if resp.Answer != want || resp.Merge != "single" {
		t.Fatalf("answer = %q (merge %s), want the merge step's", resp.Answer, resp.Merge)
	}
	// With one step to merge, the merge is that step's result.
	one := plan(sub("t1", "a", "x"), sub("t2", "merge", "{{t1}}", "t1"))
	if resp := e.router.Run(context.Background(), task.Request{Input: "one thing"}, one, nil); resp.Answer != "a(x)" {
		t.Fatalf("answer = %q, error %v", resp.Answer, resp.Error)
	}
	// A merge model, when there is one, still writes it.
	e.executor("x2", served("writer", echo(0, nil), 1, "merge"))
	resp = e.router.Run(context.Background(), task.Request{Input: "do two things"}, p, nil)
	mustDone(t, resp)
	if got := resp.Subtasks[2]; got.Model != "writer" || got.Output != "merge(Combine a(x) and b(y))" {
		t.Fatalf("t3 = %+v, want the merge model's", got)
	}
}
