package planner

import (
	"context"
	"fmt"

	"github.com/taskrouter/taskrouter/planner/rules"
	"github.com/taskrouter/taskrouter/task"
)

// Auto chooses how to plan each request: the LLM planner first when one is
// configured, falling back to the rules when it fails or returns a plan
// that does not validate; otherwise the rules planner, which decomposes a
// compound request and gives a simple one the very subtask Single would
// (a test holds the two to that).
type Auto struct {
	rules  *rules.Planner
	llm    Planner
	limits task.Limits
	known  func(string) bool
}

var _ Planner = (*Auto)(nil)

// NewAuto returns an auto planner over the catalog; WithLLM adds the LLM
// planner it tries first.
func NewAuto(cat *task.Catalog, opts ...Option) (*Auto, error) {
	cfg, r, err := build(cat, opts)
	if err != nil {
		return nil, err
	}
	return &Auto{rules: r, llm: cfg.llm, limits: cfg.limits, known: cat.Has}, nil
}

// Plan plans the request. A cancelled context is returned as an error,
// never hidden by the fallback.
func (a *Auto) Plan(ctx context.Context, req task.Request) (task.Plan, error) {
	if a.llm != nil {
		plan, err := a.llm.Plan(ctx, req)
		if err == nil {
			err = plan.Validate(a.limits, a.known)
		}
		if err == nil {
			return plan, nil
		}
		if ctx.Err() != nil {
			return task.Plan{}, fmt.Errorf("planning with the LLM: %w", ctx.Err())
		}
	}
	return a.rules.Plan(ctx, req)
}
