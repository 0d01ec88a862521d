package rules

import (
	"context"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

// "and" between two file names joins the objects of one verb; it still
// cuts where each file has words of its own.
func TestPlanFileListIsOneStep(t *testing.T) {
	p := newTestPlanner(t)
	for _, c := range []struct {
		input string
		want  []string // the input of each subtask
	}{
		{"Summarize a.txt and b.txt", []string{"a.txt\nb.txt"}},
		{"Summarize a.txt, b.txt and c.txt", []string{"a.txt\nb.txt\nc.txt"}},
		{"Translate a.txt into French and b.txt into German", []string{"a.txt", "b.txt"}},
		{"Summarize notes.txt and extract the dates from todo.md.", []string{"notes.txt", "todo.md"}},
	} {
		plan, err := p.Plan(context.Background(), task.Request{Input: c.input})
		if err != nil {
			t.Fatalf("%q: %v", c.input, err)
		}
		var got []string
		for _, s := range plan.Tasks {
			got = append(got, s.Input)
		}
		if len(got) != len(c.want) {
			t.Errorf("%q planned inputs %q, want %q", c.input, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%q planned inputs %q, want %q", c.input, got, c.want)
				break
			}
		}
	}
}
