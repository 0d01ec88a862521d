package router

import (
	"context"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// mergeCapability is the capability of a planned merge step, as
// LLMCompiler's plans end with a join.
const mergeCapability = "merge"

// noteMergeInputs keeps, for a planned merge step about to start, the
// states of the steps it merges, in case no model offers merge and the
// template writes it (mergeByTemplate). Only the scheduling goroutine
// calls it, before the step's goroutine starts.
func (ru *run) noteMergeInputs(i int) {
	s := ru.plan.Tasks[i]
	deps := make([]task.SubtaskState, 0, len(s.Deps))
	for _, d := range s.Deps {
		deps = append(deps, ru.states[ru.index[d]])
	}
	ru.grow.Lock()
	if ru.mergeInputs == nil {
		ru.mergeInputs = map[string][]task.SubtaskState{}
	}
	ru.mergeInputs[s.ID] = deps
	ru.grow.Unlock()
}

// plannedMerge returns, for a planned merge step, the states of the
// steps it merges.
func (ru *run) plannedMerge(s *task.Subtask) ([]task.SubtaskState, bool) {
	if s.Capability != mergeCapability {
		return nil, false
	}
	ru.grow.RLock()
	defer ru.grow.RUnlock()
	deps, ok := ru.mergeInputs[s.ID]
	return deps, ok
}

// mergeByTemplate does a planned merge step that no model can do with
// the template merge, as an implicit merge is done: a section per step
// it merges, or that step's result when it merges one.
func (ru *run) mergeByTemplate(ctx context.Context, st task.SubtaskState, deps []task.SubtaskState) task.SubtaskState {
	in := MergeInput{Request: ru.req, Input: ru.input, Subtasks: deps, Plan: task.Plan{Tasks: make([]task.Subtask, len(deps))}}
	for k, d := range deps {
		in.Plan.Tasks[k] = task.Subtask{ID: d.ID, Capability: d.Capability, Deps: []string{}}
	}
	answer, how, _ := TemplateMerger{Catalog: ru.r.catalog()}.Merge(ctx, in)
	st.Status, st.Output, st.Format, st.EndedAt = task.StatusDone, answer, "text", time.Now()
	if ru.observed() {
		ru.emitEvent(task.Event{Type: task.EventDone, SubtaskID: st.ID, Text: "merged by the template (" + how + "): no model offers merge",
			Output: &task.Output{Text: answer}, Time: st.EndedAt})
	}
	return st
}
