package localmodel_test

import (
	"testing"

	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/executors/conformance"
	"github.com/taskrouter/taskrouter/localmodel"
	"github.com/taskrouter/taskrouter/task"
)

// conformanceInput is an input every built-in model can work on, by
// capability; the rest get conformanceText.
var conformanceInput = map[string]string{"calc": "(2 + 3) * 4 - 1"}

const conformanceText = "Acme Corp opened a new factory in Berlin on 3 March 2024. " +
	"The plant employs 400 people and builds electric bicycles. " +
	"Analysts expect strong sales, and the local mayor praised the investment. " +
	"Contact press@acme.example for details."

// TestConformance runs the backend suite against every built-in model.
// Local models cannot be scripted to be slow or to fail, so the suite
// checks cancellation and deadlines with contexts that are already done
// and skips the remote error classes.
func TestConformance(t *testing.T) {
	for _, b := range localmodel.Builtins() {
		if _, media := b.New().(executors.ArtifactModel); media {
			continue // they read artifacts, not text: see media_test.go
		}
		t.Run(b.Spec.Name, func(t *testing.T) {
			capability := b.Spec.Capabilities[0]
			input, ok := conformanceInput[capability]
			if !ok {
				input = conformanceText
			}
			conformance.Run(t, conformance.Backend{New: func(t *testing.T, _ conformance.Script) conformance.Subject {
				return conformance.Subject{Model: b.New(), Work: task.Work{RequestID: "r1", SubtaskID: "t1",
					Model: b.Spec.Name, Capability: capability, Input: input}}
			}})
		})
	}
}
