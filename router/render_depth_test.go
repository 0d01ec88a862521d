package router

import (
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

// A model's JSON output is rendered by a recursive walk; one nested too
// deep (8,000,000 levels overflowed the stack in gjson's validator) is
// shown as it is.
func TestRenderShowsDeepJSONAsIs(t *testing.T) {
	for _, levels := range []int{200, 8_000_000} {
		out := strings.Repeat("[", levels) + "1" + strings.Repeat("]", levels)
		if got := render(task.SubtaskState{Status: task.StatusDone, Format: "json", Output: out}); got != out {
			t.Fatalf("%d levels rendered as %.40q", levels, got)
		}
	}
	if got := render(task.SubtaskState{Status: task.StatusDone, Format: "json", Output: `{"top_keywords":[["nats"]]}`}); got != "- top keywords: nats" {
		t.Fatalf("shallow JSON rendered as %q", got)
	}
}
