package rules

import (
	"context"
	"slices"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

// A verb of saying asks for speech with an object that names a text, and
// "say" only with a language to say it in.
func TestSpokenVerbs(t *testing.T) {
	p := newTestPlanner(t)
	for input, spoken := range map[string]bool{
		"Write a haiku about rain, then say it in French":   true,
		"Translate 'thank you' into German and speak it":    true,
		"Summarize report.txt and say the summary in Dutch": true,
		"How do you say this in Spanish? 'Good morning'":    false,
		"Say hello in French":                               false,
		"Write a haiku about rain, then say it again":       false,
		"What does the sign in street.jpg say?":             false,
	} {
		plan, err := p.Plan(context.Background(), task.Request{Input: input})
		if err != nil {
			t.Fatalf("%q: %v", input, err)
		}
		got := slices.ContainsFunc(plan.Tasks, func(s task.Subtask) bool { return s.Capability == "tts" })
		if got != spoken {
			t.Errorf("%q planned %s; speech: %v, want %v", input, planShape(plan), got, spoken)
		}
	}
}
