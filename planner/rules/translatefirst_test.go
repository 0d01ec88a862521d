package rules

import (
	"context"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

// TestTranslateFirst: speech in a language its text is not in is
// translated first; one already in it, or already translated, is not.
func TestTranslateFirst(t *testing.T) {
	p := newTestPlanner(t)
	for _, c := range []struct{ input, want string }{
		{"Draw a red fox in the snow, describe the picture, and read the description aloud in French", "image-generate; caption<1; translate<2; tts<3"},
		{"Read 'Hello, how are you?' aloud in French", "translate; tts<1"},
		{"Read this aloud in French: 'Bonjour tout le monde, merci pour votre visite.'", "tts"},
		{"Translate 'Good morning' into French and read it aloud in French", "translate; tts<1"},
		{"Read 'Hello' aloud in French and German", "translate; translate; tts<1; tts<2"},
		{"把这段话用英语读出来：'你好，世界'", "translate; tts<1"},
		{"Summarize report.txt in French", "summarize"}, // a step that writes, writes in the language
	} {
		plan, err := p.Plan(context.Background(), task.Request{Input: c.input})
		if err != nil {
			t.Fatalf("%q: %v", c.input, err)
		}
		if got := planShape(plan); got != c.want {
			t.Errorf("%q planned %q, want %q", c.input, got, c.want)
		}
	}
}

// A plan that the translations would take over the limit of subtasks
// goes without them rather than failing.
func TestTranslateFirstWithinLimits(t *testing.T) {
	p, err := New(task.BuiltinCatalog(), WithLimits(task.Limits{MaxSubtasks: 4}))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := p.Plan(context.Background(), task.Request{Input: "Read 'Hello' aloud in French, German and Spanish"})
	if err != nil {
		t.Fatal(err)
	}
	if got := planShape(plan); got != "tts; tts; tts" {
		t.Errorf("planned %q, want the three speeches alone", got)
	}
}
