package planner

import (
	"context"
	"fmt"

	"github.com/taskrouter/taskrouter/task"
)

// StreamPlanner is a Planner that can hand over each subtask the moment
// it is written, so that a router runs the first steps while the rest of
// the plan is still being written (llm.Planner is one). A subtask of a
// later draft voids the subtasks of the earlier ones; the plan returned
// is the whole plan, which may be another one altogether (the rules'
// plan after the LLM failed). See llm.Planner.PlanStream.
type StreamPlanner interface {
	Planner
	PlanStream(ctx context.Context, req task.Request, step func(draft int, s task.Subtask)) (task.Plan, error)
}

// PlanStream is Plan, streaming the subtasks of a plan that the request's
// mode writes with a StreamPlanner; other modes hand over nothing.
func (m *modal) PlanStream(ctx context.Context, req task.Request, step func(int, task.Subtask)) (task.Plan, error) {
	mode := m.mode
	if req.Planner != "" {
		mode = req.Planner
	}
	sp, ok := m.planners[mode].(StreamPlanner)
	if req.Plan != nil || !ok {
		return m.Plan(ctx, req)
	}
	plan, err := sp.PlanStream(ctx, req, step)
	if err != nil {
		return task.Plan{}, fmt.Errorf("planning in mode %s: %w", mode, err)
	}
	if err := plan.Validate(m.limits, m.known); err != nil {
		return task.Plan{}, fmt.Errorf("planning in mode %s: %w", mode, err)
	}
	plan.MadeBy = madeBy(mode, plan)
	return plan, nil
}

// PlanStream is Plan with the LLM planner's subtasks streamed to step
// when it streams; a fallback to the rules returns their plan, which
// voids what was streamed.
func (a *Auto) PlanStream(ctx context.Context, req task.Request, step func(int, task.Subtask)) (task.Plan, error) {
	sp, ok := a.llm.(StreamPlanner)
	if !ok {
		return a.Plan(ctx, req)
	}
	return a.planWith(ctx, req, func(ctx context.Context, req task.Request) (task.Plan, error) {
		return sp.PlanStream(ctx, req, step)
	})
}

// PlanStream plans the request over the current catalog, streaming when
// the planner over it does.
func (l *Live) PlanStream(ctx context.Context, req task.Request, step func(int, task.Subtask)) (task.Plan, error) {
	p, err := l.current()
	if err != nil {
		return task.Plan{}, err
	}
	if sp, ok := p.(StreamPlanner); ok {
		return sp.PlanStream(ctx, req, step)
	}
	return p.Plan(ctx, req)
}

var (
	_ StreamPlanner = (*modal)(nil)
	_ StreamPlanner = (*Auto)(nil)
	_ StreamPlanner = (*Live)(nil)
)

// Replanner is a Planner that can plan another round of a request from
// the results of the rounds before (llm.Planner is one, as LLMCompiler's
// joiner): it returns the steps that remain, or a plan with no subtasks
// when nothing does.
type Replanner interface {
	Replan(ctx context.Context, req task.Request, results []task.SubtaskState) (task.Plan, error)
}

// Replan asks the planner of the request's mode for another round; a
// mode whose planner cannot replan has nothing more to do.
func (m *modal) Replan(ctx context.Context, req task.Request, results []task.SubtaskState) (task.Plan, error) {
	mode := m.mode
	if req.Planner != "" {
		mode = req.Planner
	}
	rp, ok := m.planners[mode].(Replanner)
	if !ok {
		return task.Plan{}, nil
	}
	plan, err := rp.Replan(ctx, req, results)
	if err == nil && len(plan.Tasks) > 0 {
		err = plan.Validate(m.limits, m.known)
	}
	if err != nil {
		return task.Plan{}, fmt.Errorf("replanning in mode %s: %w", mode, err)
	}
	plan.MadeBy = madeBy(mode, plan)
	return plan, nil
}

// Replan asks the LLM planner for another round when there is one.
func (a *Auto) Replan(ctx context.Context, req task.Request, results []task.SubtaskState) (task.Plan, error) {
	rp, ok := a.llm.(Replanner)
	if !ok {
		return task.Plan{}, nil
	}
	plan, err := rp.Replan(ctx, req, results)
	plan.Planner = ModeLLM
	return plan, err
}

// Replan asks the planner over the current catalog for another round.
func (l *Live) Replan(ctx context.Context, req task.Request, results []task.SubtaskState) (task.Plan, error) {
	p, err := l.current()
	if err != nil {
		return task.Plan{}, err
	}
	if rp, ok := p.(Replanner); ok {
		return rp.Replan(ctx, req, results)
	}
	return task.Plan{}, nil
}

var (
	_ Replanner = (*modal)(nil)
	_ Replanner = (*Auto)(nil)
	_ Replanner = (*Live)(nil)
)
