package planner

import (
	"context"
	"fmt"

	"github.com/taskrouter/taskrouter/planner/rules"
	"github.com/taskrouter/taskrouter/task"
)

// modal is the Planner New returns: one planner per mode, a default mode,
// and the request-level overrides.
type modal struct {
	mode     string
	planners map[string]Planner
	limits   task.Limits
	known    func(string) bool
}

var _ Planner = (*modal)(nil)

// New returns a planner for mode (auto, rules, single or llm; empty means
// auto) over the catalog.
//
// The planner it returns handles two request fields before planning: a
// request with Plan set gets that plan back as is once it validates (an
// invalid one is a *task.Error with CodeInvalidPlan); a request with
// Planner set is planned in that mode instead of the default. Asking for
// llm, by mode or by request, when no LLM planner was given with WithLLM is
// an error wrapping ErrNoLLM. Every plan returned has been validated.
func New(mode string, cat *task.Catalog, opts ...Option) (Planner, error) {
	cfg, r, err := build(cat, opts)
	if err != nil {
		return nil, err
	}
	if mode == "" {
		mode = ModeAuto
	}
	m := &modal{mode: mode, limits: cfg.limits, known: cat.Has, planners: map[string]Planner{
		ModeRules:  r,
		ModeSingle: &Single{rules: r},
		ModeAuto:   &Auto{rules: r, llm: cfg.llm, limits: cfg.limits, known: cat.Has},
	}}
	if cfg.llm != nil {
		m.planners[ModeLLM] = cfg.llm
	}
	if _, err := m.pick(mode); err != nil {
		return nil, fmt.Errorf("creating planner: %w", err)
	}
	return m, nil
}

// Plan returns the request's own plan when it has one, else plans it in
// the request's mode or the default one.
func (m *modal) Plan(ctx context.Context, req task.Request) (task.Plan, error) {
	if req.Plan != nil {
		if err := req.Plan.Validate(m.limits, m.known); err != nil {
			return task.Plan{}, fmt.Errorf("checking the request's plan: %w", err)
		}
		return *req.Plan, nil
	}
	mode := m.mode
	if req.Planner != "" {
		mode = req.Planner
	}
	p, err := m.pick(mode)
	if err != nil {
		return task.Plan{}, task.Errorf(task.CodeInvalidRequest, "%v", err)
	}
	plan, err := p.Plan(ctx, req)
	if err != nil {
		return task.Plan{}, fmt.Errorf("planning in mode %s: %w", mode, err)
	}
	if err := plan.Validate(m.limits, m.known); err != nil {
		return task.Plan{}, fmt.Errorf("planning in mode %s: %w", mode, err)
	}
	plan.MadeBy = madeBy(mode, plan)
	return plan, nil
}

// madeBy names the planner that made a plan in mode: the auto planner
// says which of its two it used when it had a choice, and otherwise plans
// with the rules.
func madeBy(mode string, plan task.Plan) string {
	switch {
	case plan.Planner != "":
		return plan.Planner
	case mode == ModeAuto:
		return ModeRules
	}
	return mode
}

func (m *modal) pick(mode string) (Planner, error) {
	if p, ok := m.planners[mode]; ok {
		return p, nil
	}
	if mode == ModeLLM {
		return nil, fmt.Errorf("planner mode llm: %w; configure a model with the plan capability, or use auto, rules or single", ErrNoLLM)
	}
	return nil, fmt.Errorf("unknown planner mode %q: use auto, rules, llm or single", mode)
}

// Single plans every request as one subtask of the best-matching
// capability, with its payload, target language and counts extracted. It
// shares the rules planner's catalog index.
type Single struct {
	rules *rules.Planner
}

var _ Planner = (*Single)(nil)

// NewSingle returns a single planner over the catalog.
func NewSingle(cat *task.Catalog, opts ...Option) (*Single, error) {
	_, r, err := build(cat, opts)
	if err != nil {
		return nil, err
	}
	return &Single{rules: r}, nil
}

// Plan returns a one-subtask plan.
func (s *Single) Plan(ctx context.Context, req task.Request) (task.Plan, error) {
	return s.rules.PlanSingle(ctx, req)
}
