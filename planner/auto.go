package planner

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/taskrouter/taskrouter/planner/rules"
	"github.com/taskrouter/taskrouter/task"
)

// Auto chooses how to plan each request: the LLM planner first when one is
// configured, falling back to the rules when it fails or returns a plan
// that does not validate; otherwise the rules planner, which decomposes a
// compound request and gives a simple one the very subtask Single would
// (a test holds the two to that).
//
// With an LLM planner configured, every plan names the planner that made
// it in Plan.Planner, and a fallback says why in Plan.FallbackReason, so
// that an operator reading a response can tell why it got a rules plan.
// Without one there is no choice to explain, and the plan is exactly the
// rules planner's.
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
	if a.llm == nil {
		return a.rules.Plan(ctx, req)
	}
	return a.planWith(ctx, req, a.llm.Plan)
}

// planWith plans with llm, falling back to the rules.
func (a *Auto) planWith(ctx context.Context, req task.Request, llm func(context.Context, task.Request) (task.Plan, error)) (task.Plan, error) {
	plan, llmErr := llm(ctx, req)
	if llmErr == nil {
		llmErr = plan.Validate(a.limits, a.known)
	}
	if llmErr == nil {
		plan.Planner, plan.FallbackReason = ModeLLM, ""
		return plan, nil
	}
	if ctx.Err() != nil {
		return task.Plan{}, fmt.Errorf("planning with the LLM: %w", ctx.Err())
	}
	plan, err := a.rules.Plan(ctx, req)
	if err != nil {
		return task.Plan{}, err
	}
	plan.Planner, plan.FallbackReason = ModeRules, fallbackReason(llmErr)
	return plan, nil
}

// maxReasonBytes bounds Plan.FallbackReason: enough for the error's class
// and gist, not a whole upstream answer.
const maxReasonBytes = 200

// fallbackReason is the LLM planner's error as its code and message on one
// line, cut to maxReasonBytes. It is the text a failed response would
// carry, which the adapters have already cleaned of credentials.
func fallbackReason(err error) string {
	s := strings.Join(strings.Fields(task.AsError(err).Error()), " ")
	if len(s) <= maxReasonBytes {
		return s
	}
	cut := maxReasonBytes - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
