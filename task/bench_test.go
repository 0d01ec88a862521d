package task

import (
	"strconv"
	"testing"
)

// BenchmarkValidate validates a 16-subtask plan: 8 parallel steps, each
// followed by a step that refers to it.
func BenchmarkValidate(b *testing.B) {
	var p Plan
	for i := 1; i <= 8; i++ {
		id := "t" + strconv.Itoa(i)
		p.Tasks = append(p.Tasks, Subtask{ID: id, Capability: "summarize", Input: "some text to work on", Deps: []string{}},
			Subtask{ID: id + "b", Capability: "translate", Input: "{{" + id + "}}", Args: map[string]string{"target_lang": "fr"}, Deps: []string{id}})
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Validate(DefaultLimits, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSubstitute(b *testing.B) {
	outputs := map[string]string{"t1": "the summary", "t2": "the keywords"}
	b.ReportAllocs()
	for b.Loop() {
		_ = Substitute("Combine {{t1}} with {{t2}}.", outputs)
	}
}
