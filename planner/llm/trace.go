package llm

import "github.com/taskrouter/taskrouter/task"

// Trace records how a plan came about: every ask of the model, the
// repairs made to its answer and why answers were rejected.
type Trace struct {
	// Attempts is how many times the model was asked.
	Attempts int `json:"attempts"`
	// Warnings name the repairs made to the accepted plan, such as a
	// forward reference that was dropped.
	Warnings []string `json:"warnings,omitempty"`
	// Rejected holds, per rejected answer, why it was rejected.
	Rejected []string `json:"rejected,omitempty"`
	// Usage sums the model's usage over all attempts.
	Usage task.Usage `json:"usage,omitzero"`
}
