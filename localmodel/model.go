// Package localmodel holds the models that run inside the process, with no
// network and no downloaded weights.
package localmodel

import (
	"context"

	"github.com/taskrouter/taskrouter/task"
)

// Model is one built-in model. Generate does the work of one subtask; it may
// call progress with partial text as it goes, and must return promptly when
// ctx is done. Errors are *task.Error values (task.CodeBadInput for input
// the model cannot work on).
type Model interface {
	Generate(ctx context.Context, w task.Work, progress func(delta string)) (task.Output, error)
}

// Builtin is a built-in model: its spec and its constructor.
type Builtin struct {
	Spec task.ModelSpec
	New  func() Model
}
