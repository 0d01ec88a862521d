// Package rules is the offline planner of taskrouter: it turns a request
// into a plan with no model and no network, deterministically, in English
// and in Chinese.
//
// It splits a compound request into steps at sentence ends, list items,
// commas, conjunctions and sequencing words (then, 然后, 再); maps each step
// to a capability by BM25 over the catalog's names, keywords, titles,
// descriptions and examples (Latin words lightly stemmed, CJK text as
// character bigrams); infers dependencies from sequencing, from phrases
// that refer to an earlier result ("the summary", "翻译后的内容", "them")
// and from input and output types; and extracts payloads (quotes, the text
// after a colon, file names, URLs), target languages and counts into each
// subtask's input and args. Nothing in it names a capability: a capability
// defined only in a catalog file is planned like a built-in one.
package rules

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/taskrouter/taskrouter/task"
)

// DefaultFallback is the capability a request goes to when nothing in the
// catalog matches it.
const DefaultFallback = "chat"

// thresholdFactor sets the BM25 score a piece of a request needs to count
// as an instruction for some capability, as a multiple of the idf of a
// term that only one capability has: one good keyword is about enough,
// whatever the size of the catalog.
const thresholdFactor = 1.15

// Planner is the rules planner. It is safe for concurrent use: the catalog
// index is built once by New and only read afterwards.
type Planner struct {
	ix        *index
	limits    task.Limits
	threshold float32
	known     func(string) bool
}

type options struct {
	fallback string
	limits   task.Limits
}

// Option tunes a Planner.
type Option func(*options)

// WithFallback names the capability used when nothing matches; the
// default is DefaultFallback. It must be in the catalog.
func WithFallback(capability string) Option {
	return func(o *options) { o.fallback = capability }
}

// WithLimits sets the limits plans are validated against; the default is
// task.DefaultLimits.
func WithLimits(l task.Limits) Option {
	return func(o *options) { o.limits = l }
}

// New indexes the catalog and returns a planner over it. It fails when the
// catalog is empty or lacks the fallback capability.
func New(cat *task.Catalog, opts ...Option) (*Planner, error) {
	o := options{fallback: DefaultFallback, limits: task.DefaultLimits}
	for _, opt := range opts {
		opt(&o)
	}
	if len(cat.All()) == 0 {
		return nil, task.Errorf(task.CodeInvalidRequest, "the capability catalog is empty; the rules planner needs at least the fallback capability %q", o.fallback)
	}
	ix, err := newIndex(cat, o.fallback)
	if err != nil {
		return nil, fmt.Errorf("building the rules planner: %w", err)
	}
	return &Planner{ix: ix, limits: o.limits, threshold: thresholdFactor * ix.maxIDF, known: cat.Has}, nil
}

// Plan decomposes the request into a plan of one or more subtasks; a
// request that is not compound gets the one subtask PlanSingle would give
// it. The plan is valid against the planner's catalog and limits; an
// empty or oversized request is a *task.Error with CodeInvalidRequest.
func (p *Planner) Plan(ctx context.Context, req task.Request) (task.Plan, error) {
	text, err := p.requestText(ctx, req)
	if err != nil {
		return task.Plan{}, err
	}
	r := p.parseRequest(text)
	return p.finish(r, p.steps(r), false)
}

// PlanSingle plans the whole request as one subtask of the best-matching
// capability, with the same payload and argument extraction as Plan: it
// adds no steps, and a step that names several target languages keeps the
// first.
func (p *Planner) PlanSingle(ctx context.Context, req task.Request) (task.Plan, error) {
	text, err := p.requestText(ctx, req)
	if err != nil {
		return task.Plan{}, err
	}
	r := p.parseRequest(text)
	steps := p.steps(r)
	if len(steps) != 1 {
		steps = []step{p.wholeStep(r, r.toks)}
	}
	return p.finish(r, steps, true)
}

func (p *Planner) requestText(ctx context.Context, req task.Request) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("planning by rules: %w", err)
	}
	text, _ := req.Text()
	if strings.TrimSpace(text) == "" {
		return "", task.Errorf(task.CodeInvalidRequest, "the request has no input: set \"input\", or \"messages\" ending with a user message")
	}
	lim := p.limits.MaxInputBytes
	if lim <= 0 {
		lim = task.DefaultLimits.MaxInputBytes
	}
	if len(text) > lim {
		return "", task.Errorf(task.CodeInvalidRequest, "the input is %d bytes, more than the limit of %d; shorten it", len(text), lim)
	}
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	return text, nil
}
