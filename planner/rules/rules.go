// Package rules is the offline planner of taskrouter: it turns a request
// into a plan with no model and no network, deterministically, in English
// and in Chinese. Nothing in it names a capability: a capability defined
// only in a catalog file is planned like a built-in one.
//
// Steps. A request is cut at sentence ends, list items, commas,
// conjunctions and sequencing words (then, after that, 然后, 再, 最后).
// Each piece is matched against the catalog by BM25 over names, keywords,
// titles, descriptions, examples and the types each capability reads and
// makes, a word of a name counting three times one of a description
// (Latin words lightly stemmed, so a Text-Summarizer meets "summarize";
// CJK text as character bigrams; a request's word also matches its
// aliases, so a picture is an image). A catalog of names and one-line
// descriptions, with no examples nor keywords, needs one word of a
// description, not a keyword, to match. Kinds of data steer the match: a
// capability that reads only images, audio or video loses where the
// request has none (no file, no earlier step that makes it, no "this
// image"), and one that makes the kind asked for ("an image", "into a
// video") gains over one that makes another. A piece that matches
// nothing well enough joins its neighbour, or, when it is a sentence of
// its own, is content the steps work on. A piece that only repeats the
// step before ("and 'B' into German") is that step again; one between
// sequencing words with no match goes to the fallback capability, if the
// catalog has one. "and" between two file names or URLs cuts nothing:
// "Join a.csv and b.csv" is one step on both.
//
// Qualifiers are no steps: a manner ("in a cheerful tone"), a quantity
// asked by a word problem ("how many apples"), a premise before its
// question ("If a car uses 6 liters per 100 km, ...") and more words for
// a step that reads the whole instruction (a greeting in a role-play, an
// explanation of code just written) stay with the step they qualify.
//
// Dependencies come from phrases that name an earlier result ("the
// summary", "those keywords", "翻译后的内容", "the results", "them"), from
// sequencing when the step before produces exactly what the step takes,
// and from types: a step whose payload it cannot read (an image for a text
// step) takes the result of an earlier step that produces what it can; a
// step that cannot read text and has nothing of its own it reads takes
// the nearest earlier step that makes what it reads ("draw a chart" of a
// query's rows); and "it" said of data ("mix it with narration.wav"), or
// a step with nothing at all to work on, takes the nearest earlier step
// that makes data it reads. A
// result named but never asked for ("translate the summary of this
// article") gets a step of its own, and so does a conversion the types
// need when the catalog has one (a capability that reads images before a
// translation of menu.jpg). Steps without such ties stay independent.
// A step that renders text as speech or a picture takes the text an
// earlier step wrote of the text both work on ("Summarize this and read
// it aloud: '…'"), and so does a step after a translation into the
// request's own language. A thing named by its identifier ("ticket
// 3003") is looked up first, by the catalog's tool that finds that kind
// of identifier, when the step needs its text (lookup.go). Speech asked
// in a language its text is not in ("read the description aloud in
// French", "say it in German") gets a translation first
// (translatefirst.go).
//
// Inputs. A subtask's input is the {{tN}} output of its dependencies, else
// its payload (quoted text, the text after a colon, after "the following"
// or a label such as "Text:", a file name or a URL), else its own words.
// The text after a colon runs to the end, unless a later sentence goes on
// with the instructions ("Summarize: A. Then detect the language of: B"):
// a sequencing word that opens a clause matching some capability, outside
// any quote. A step that opens such a sentence works on its own payload,
// not on the result of the step before.
// A capability whose inputs include the type "prompt" reads the
// instruction too: it gets its own words followed by what they work on,
// and a one-subtask plan gives it the whole request.
//
// Args: target_lang and source_lang (language codes such as "fr" or "zh";
// a step with several targets becomes one subtask per language), file or
// url when the input names one, and a count named by its unit: sentences,
// words, characters, paragraphs, lines or items ("in 3 sentences",
// "top 5", "用一句话").
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

// leanThresholdFactor is thresholdFactor for a catalog without examples
// or keywords; a catalog with some has a factor in between.
const leanThresholdFactor = 0.75

// Planner is the rules planner. It is safe for concurrent use: the catalog
// index is built once by New and only read afterwards.
type Planner struct {
	ix        *index
	limits    task.Limits
	threshold float32
	known     func(string) bool
	// translatorCap translates text into text, or is -1 (translatefirst.go).
	translatorCap int
	// lookups find things by their identifiers (lookup.go).
	lookups lookups
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

// WithoutFallback plans over a catalog that has no capability for what
// matches nothing, as a user's catalog of tools often has not: a piece of
// a request that matches no capability is never a step of its own, and a
// request that matches none at all is refused (CodeNotFound).
func WithoutFallback() Option {
	return func(o *options) { o.fallback = "" }
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
	if len(cat.Plannable()) == 0 {
		return nil, task.Errorf(task.CodeInvalidRequest, "the capability catalog has nothing to plan; the rules planner needs at least one capability that is not direct")
	}
	ix, err := newIndex(cat, o.fallback)
	if err != nil {
		return nil, fmt.Errorf("building the rules planner: %w", err)
	}
	return &Planner{ix: ix, limits: o.limits, threshold: threshold(ix), known: cat.Has, translatorCap: ix.translator(), lookups: findLookups(ix)}, nil
}

// threshold is the score a piece of a request needs to count as an
// instruction. A catalog of names and one-line descriptions, with no
// examples and no keywords, says each capability's work in few words,
// and rarely twice: there, one word of a description is enough.
func threshold(ix *index) float32 {
	return (thresholdFactor - ix.lean*(thresholdFactor-leanThresholdFactor)) * ix.maxIDF
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
	steps := p.steps(r)
	if err := p.matched(steps); err != nil {
		return task.Plan{}, err
	}
	if len(steps) > p.maxSteps() {
		return task.Plan{}, task.Errorf(task.CodeInvalidRequest, "the request asks for more than %d steps, the most a plan may have; split it into several requests", p.maxSteps())
	}
	plan, err := p.finish(r, steps, false)
	return p.attach(req, plan, err)
}

// attach turns a plan made for a request with attachments into one that
// refers to them (see attachments.go).
func (p *Planner) attach(req task.Request, plan task.Plan, err error) (task.Plan, error) {
	if err != nil || len(req.Attachments) == 0 {
		return plan, err
	}
	plan = p.withAttachments(plan, req.Attachments)
	if err := plan.Validate(p.limits, p.known); err != nil {
		return task.Plan{}, fmt.Errorf("planning by rules: %w", err)
	}
	return plan, nil
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
	if err := p.matched(steps); err != nil {
		return task.Plan{}, err
	}
	plan, err := p.finish(r, steps, true)
	return p.attach(req, plan, err)
}

// matched refuses a plan that has a step of no capability, which only a
// planner without a fallback makes, when nothing matches at all.
func (p *Planner) matched(steps []step) error {
	for _, s := range steps {
		if s.capability < 0 {
			return task.Errorf(task.CodeNotFound, "nothing in the capability catalog matches the request, and the catalog has no fallback capability; name a capability's work in the request, or add a capability such as %q that takes any request", DefaultFallback)
		}
	}
	return nil
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
	if len(req.Attachments) > 0 {
		text = withStandIns(text, req.Attachments)
	}
	return text, nil
}
