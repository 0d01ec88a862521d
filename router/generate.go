package router

import (
	"context"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// Generate runs one piece of work on a model with w.Capability, selected,
// dispatched over NATS and retried like any subtask (w.Model, when set, is
// pinned). It lets a planner or another component use models as a
// function; progress receives streamed text.
func (r *Router) Generate(ctx context.Context, w task.Work, progress func(string)) (task.Output, error) {
	st := r.generate(ctx, w, progress)
	if st.Status != task.StatusDone {
		return task.Output{}, st.Error
	}
	return task.Output{Text: st.Output, Format: st.Format, Usage: st.Usage}, nil
}

// generate is Generate, returning the subtask's whole state.
func (r *Router) generate(ctx context.Context, w task.Work, progress func(string)) task.SubtaskState {
	if w.RequestID == "" {
		w.RequestID = task.NewID("req_")
	}
	if w.SubtaskID == "" {
		w.SubtaskID = w.Capability
	}
	s := task.Subtask{ID: w.SubtaskID, Capability: w.Capability, Input: w.Input, Args: w.Args, Deps: []string{}}
	req := task.Request{ID: w.RequestID, Input: w.Input, Messages: w.Context, Hints: task.Hints{Model: w.Model}}
	var onEvent func(task.Event)
	if progress != nil {
		onEvent = func(ev task.Event) {
			if ev.Type == task.EventProgress {
				progress(ev.Text)
			}
		}
	}
	ru := r.newRun(&req, task.Plan{Tasks: []task.Subtask{s}}, time.Now(), onEvent, false)
	// Attempts go on from w's: a planner asking again after it stopped a
	// streamed answer must not reuse the number it cancelled.
	st := task.SubtaskState{ID: s.ID, Capability: s.Capability, Deps: s.Deps,
		Status: task.StatusRunning, StartedAt: time.Now(), Attempts: max(w.Attempt-1, 0)}
	ru.runSubtask(ctx, &s, &st)
	return st
}
