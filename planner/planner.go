// Package planner turns a request into a plan: a DAG of typed subtasks over
// the capability catalog.
//
// Modes: rules (offline decomposition, package rules), single (one subtask
// of the best-matching capability), auto (rules for compound requests,
// single otherwise, and an LLM planner first when one is configured), and
// llm (the LLM planner alone). New returns a Planner for a mode that also
// honours two fields of a request: Plan, a plan given by the caller, which
// is validated and returned as is; and Planner, which overrides the mode for
// that request. Every plan it returns has passed task.Plan.Validate against
// the catalog and the limits.
package planner

import (
	"context"
	"errors"
	"fmt"

	"github.com/taskrouter/taskrouter/planner/rules"
	"github.com/taskrouter/taskrouter/task"
)

// Planner turns a request into a plan.
type Planner interface {
	Plan(ctx context.Context, req task.Request) (task.Plan, error)
}

// The planner modes, as config and requests name them.
const (
	ModeAuto   = "auto"
	ModeRules  = "rules"
	ModeLLM    = "llm"
	ModeSingle = "single"
)

// ErrNoLLM is returned, wrapped, when mode llm is asked for and no LLM
// planner was given with WithLLM.
var ErrNoLLM = errors.New("no LLM planner is configured")

type config struct {
	limits   task.Limits
	fallback string
	// fallbackSet says WithFallback chose the fallback: then it must be
	// in the catalog, while the default one may be missing from a
	// catalog of the user's alone.
	fallbackSet bool
	llm         Planner
}

// Option configures the planners New, NewAuto and NewSingle build.
type Option func(*config) error

// WithLimits sets the limits every plan is validated against; the default
// is task.DefaultLimits.
func WithLimits(l task.Limits) Option {
	return func(c *config) error {
		if l.MaxSubtasks < 0 || l.MaxDepth < 0 || l.MaxInputBytes < 0 {
			return fmt.Errorf("planner limits must not be negative: %+v", l)
		}
		c.limits = l
		return nil
	}
}

// WithFallback names the capability a request goes to when nothing in the
// catalog matches it; the default is "chat". It must be in the catalog.
// Without it, a catalog that lacks "chat" has no fallback: what matches
// nothing is no step, and a request that matches nothing is refused.
func WithFallback(capability string) Option {
	return func(c *config) error {
		if capability == "" {
			return errors.New("the fallback capability must not be empty")
		}
		c.fallback, c.fallbackSet = capability, true
		return nil
	}
}

// WithLLM sets the LLM planner that mode llm uses, and that mode auto tries
// first. A nil planner leaves none configured.
func WithLLM(p Planner) Option {
	return func(c *config) error {
		c.llm = p
		return nil
	}
}

// build reads the options and builds the rules planner that every mode
// shares.
func build(cat *task.Catalog, opts []Option) (config, *rules.Planner, error) {
	cfg := config{limits: task.DefaultLimits, fallback: rules.DefaultFallback}
	if cat == nil {
		return cfg, nil, errors.New("creating planner: the capability catalog is nil")
	}
	for _, opt := range opts {
		if err := opt(&cfg); err != nil {
			return cfg, nil, fmt.Errorf("creating planner: %w", err)
		}
	}
	fallback := rules.WithFallback(cfg.fallback)
	if !cfg.fallbackSet && !cat.Has(cfg.fallback) {
		fallback = rules.WithoutFallback()
	}
	r, err := rules.New(cat, fallback, rules.WithLimits(cfg.limits))
	if err != nil {
		return cfg, nil, fmt.Errorf("creating planner: %w", err)
	}
	return cfg, r, nil
}
