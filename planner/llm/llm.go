// Package llm is the LLM planner: it asks a model with capability "plan" to
// decompose a request over the capability catalog, parses what the model
// writes in any of the common plan forms, repairs what is safe to repair,
// and returns only plans that validate.
package llm

import (
	"context"
	"errors"
	"fmt"

	"github.com/taskrouter/taskrouter/task"
)

// Capability is the capability the planner's model is asked for.
const Capability = "plan"

// Generator runs one piece of work on a model that has capability "plan".
// executors.Model satisfies it; so does a router dispatch.
type Generator interface {
	Generate(ctx context.Context, w task.Work, progress func(delta string)) (task.Output, error)
}

// Planner plans requests by asking a model. It is safe for concurrent use.
type Planner struct {
	gen      Generator
	cat      *task.Catalog
	limits   task.Limits
	attempts int
	examples []Example
}

// Option configures a Planner.
type Option func(*Planner) error

// WithLimits sets the limits plans are validated against; the default is
// task.DefaultLimits.
func WithLimits(l task.Limits) Option {
	return func(p *Planner) error {
		if l.MaxSubtasks < 0 || l.MaxDepth < 0 || l.MaxInputBytes < 0 {
			return fmt.Errorf("limits must not be negative: %+v", l)
		}
		p.limits = l
		return nil
	}
}

// WithAttempts sets how many times the model is asked before Plan gives
// up (default 2: the first ask and one retry that shows the model its
// error). It must be between 1 and 5.
func WithAttempts(n int) Option {
	return func(p *Planner) error {
		if n < 1 || n > 5 {
			return fmt.Errorf("attempts %d must be between 1 and 5", n)
		}
		p.attempts = n
		return nil
	}
}

// WithExamples replaces the worked examples shown to the model, which by
// default are built from the catalog. Their plans must validate against
// the catalog.
func WithExamples(ex ...Example) Option {
	return func(p *Planner) error {
		p.examples = ex
		return nil
	}
}

// ErrNoPlan is returned, wrapped in a *task.Error with CodeInvalidPlan,
// when no attempt of the model produced a plan that validates.
var ErrNoPlan = errors.New("the model wrote no valid plan")

// New returns a planner that asks gen for plans over cat.
func New(gen Generator, cat *task.Catalog, opts ...Option) (*Planner, error) {
	if gen == nil {
		return nil, errors.New("creating LLM planner: the generator is nil")
	}
	if cat == nil || len(cat.All()) == 0 {
		return nil, errors.New("creating LLM planner: the capability catalog is empty")
	}
	p := &Planner{gen: gen, cat: cat, limits: task.DefaultLimits, attempts: 2}
	for _, opt := range opts {
		if err := opt(p); err != nil {
			return nil, fmt.Errorf("creating LLM planner: %w", err)
		}
	}
	if p.examples == nil {
		p.examples = defaultExamples(cat)
	}
	for i, ex := range p.examples {
		if err := ex.Plan.Validate(p.limits, cat.Has); err != nil {
			return nil, fmt.Errorf("creating LLM planner: example %d: %w", i+1, err)
		}
	}
	return p, nil
}
