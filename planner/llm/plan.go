package llm

import (
	"context"
	"fmt"

	"github.com/taskrouter/taskrouter/task"
)

var _ interface {
	Plan(context.Context, task.Request) (task.Plan, error)
} = (*Planner)(nil)

// Plan asks the model for a plan of the request. It returns a plan that
// has passed task.Plan.Validate against the catalog and the limits, or an
// error: the generator's own error, the context's error, or a *task.Error
// with CodeInvalidPlan wrapping ErrNoPlan when every answer was unusable.
func (p *Planner) Plan(ctx context.Context, req task.Request) (task.Plan, error) {
	plan, _, err := p.PlanTrace(ctx, req)
	return plan, err
}

// PlanTrace is Plan that also returns the trace of the planning, filled in
// as far as planning got when it fails.
func (p *Planner) PlanTrace(ctx context.Context, req task.Request) (task.Plan, Trace, error) {
	var tr Trace
	text, history := req.Text()
	if text == "" {
		return task.Plan{}, tr, task.Errorf(task.CodeInvalidRequest, "the request has no text to plan; send input or a user message")
	}
	text = withAttachments(text, req)
	prompt := p.prompt(text)
	var lastErr error
	for tr.Attempts < p.attempts {
		tr.Attempts++
		w := task.Work{RequestID: req.ID, SubtaskID: "plan", Attempt: tr.Attempts, Capability: Capability,
			Input: prompt, Context: history}
		if dl, ok := ctx.Deadline(); ok {
			w.Deadline = dl
		}
		out, err := p.gen.Generate(ctx, w, nil)
		tr.Usage = tr.Usage.Add(out.Usage)
		if err != nil {
			return task.Plan{}, tr, fmt.Errorf("asking the model for a plan: %w", err)
		}
		plan, warnings, err := Parse(out.Text, p.cat, p.limits)
		if err == nil {
			tr.Warnings = warnings
			return plan, tr, nil
		}
		tr.Rejected = append(tr.Rejected, err.Error())
		lastErr = err
		prompt = p.retryPrompt(text, out.Text, err)
	}
	e := task.Errorf(task.CodeInvalidPlan, "the planner model wrote no valid plan in %d attempts; last error: %v", tr.Attempts, lastErr)
	return task.Plan{}, tr, fmt.Errorf("planning with the LLM: %w: %w", ErrNoPlan, e)
}
