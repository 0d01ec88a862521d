package llm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/taskrouter/taskrouter/task"
)

var _ interface {
	Plan(context.Context, task.Request) (task.Plan, error)
	PlanStream(context.Context, task.Request, func(int, task.Subtask)) (task.Plan, error)
} = (*Planner)(nil)

// Plan asks the model for a plan of the request. It returns a plan that
// has passed task.Plan.Validate against the catalog and the limits, or an
// error: the generator's own error, the context's error, or a *task.Error
// with CodeInvalidPlan wrapping ErrNoPlan when every answer was unusable.
func (p *Planner) Plan(ctx context.Context, req task.Request) (task.Plan, error) {
	plan, _, err := p.PlanTrace(ctx, req)
	return plan, err
}

// PlanStream is Plan for a caller that runs subtasks while the plan is
// still being written, as LLMCompiler's task fetching unit does: it
// streams the model's answer and hands each subtask to step the moment
// it is complete and checked against the ones before it. draft numbers
// the model's answers from 1; a subtask of a later draft means that every
// subtask of the earlier ones is void (that answer turned out invalid and
// the model is being asked again). The plan returned is the whole plan,
// checked as a whole; when it holds the last draft's subtasks, they come
// first and in the order step got them, and any others (from a form that
// cannot be read as it streams) follow. Errors are Plan's.
func (p *Planner) PlanStream(ctx context.Context, req task.Request, step func(draft int, s task.Subtask)) (task.Plan, error) {
	plan, _, err := p.planTrace(ctx, req, step)
	return plan, err
}

// PlanTrace is Plan that also returns the trace of the planning, filled in
// as far as planning got when it fails.
func (p *Planner) PlanTrace(ctx context.Context, req task.Request) (task.Plan, Trace, error) {
	return p.planTrace(ctx, req, nil)
}

func (p *Planner) planTrace(ctx context.Context, req task.Request, step func(int, task.Subtask)) (task.Plan, Trace, error) {
	text, _ := req.Text()
	return p.rounds(ctx, req, "Request: "+withAttachments(text, req), step, false)
}

// rounds asks the model for a plan of what ask says, streaming it to step
// when set, until an answer validates or the attempts run out; with
// finishing set, an empty task list is an answer: nothing more to do.
func (p *Planner) rounds(ctx context.Context, req task.Request, ask string, step func(int, task.Subtask), finishing bool) (task.Plan, Trace, error) {
	var tr Trace
	text, history := req.Text()
	if text == "" {
		return task.Plan{}, tr, task.Errorf(task.CodeInvalidRequest, "the request has no text to plan; send input or a user message")
	}
	prompt := p.prompt(ask)
	var lastErr error
	for tr.Attempts < p.attempts {
		tr.Attempts++
		w := task.Work{RequestID: req.ID, SubtaskID: "plan", Attempt: tr.Attempts, Capability: Capability,
			Input: prompt, Context: history}
		if dl, ok := ctx.Deadline(); ok {
			w.Deadline = dl
		}
		a := p.ask(ctx, w, step, len(req.Attachments) == 0)
		tr.Usage = tr.Usage.Add(a.usage)
		if a.genErr != nil {
			return task.Plan{}, tr, fmt.Errorf("asking the model for a plan: %w", a.genErr)
		}
		if finishing && a.err != nil && emptyPlan(a.text) {
			return task.Plan{}, tr, nil
		}
		if a.err == nil {
			tr.Warnings = a.warnings
			return a.plan, tr, nil
		}
		tr.Rejected = append(tr.Rejected, a.err.Error())
		lastErr = a.err
		prompt = p.retryPrompt(ask, a.text, a.err)
	}
	e := task.Errorf(task.CodeInvalidPlan, "the planner model wrote no valid plan in %d attempts; last error: %v", tr.Attempts, lastErr)
	return task.Plan{}, tr, fmt.Errorf("planning with the LLM: %w: %w", ErrNoPlan, e)
}

// answer is one ask of the model: its text, and the plan read from it or
// why none could be (err), or the generator's own failure (genErr).
type answer struct {
	text     string
	plan     task.Plan
	warnings []string
	usage    task.Usage
	err      error
	genErr   error
}

// ask asks the model once, streaming its answer to step when step is set.
func (p *Planner) ask(ctx context.Context, w task.Work, step func(int, task.Subtask), typed bool) answer {
	if step == nil {
		out, err := p.gen.Generate(ctx, w, nil)
		if err != nil {
			return answer{usage: out.Usage, genErr: err}
		}
		plan, warnings, err := Parse(out.Text, p.cat, p.limits)
		return answer{text: out.Text, plan: plan, warnings: warnings, usage: out.Usage, err: err}
	}
	return p.askStreaming(ctx, w, step, typed)
}

// errRejected stops the model once its streamed plan turned out invalid.
var errRejected = errors.New("the streamed plan is invalid")

// askStreaming asks the model once and reads its answer as it streams:
// each subtask goes to step once checked, and a subtask that fails its
// check stops the model at once, so the retry starts sooner.
func (p *Planner) askStreaming(ctx context.Context, w task.Work, step func(int, task.Subtask), typed bool) answer {
	gctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	s := &streaming{sr: &streamReader{}, d: newDraft(p.cat, p.limits, typed), draft: w.Attempt, step: step}
	out, genErr := p.gen.Generate(gctx, w, func(delta string) {
		if s.read(delta) != nil {
			stop(errRejected)
		}
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	a := answer{text: string(s.sr.buf), usage: out.Usage, err: s.err}
	switch {
	case s.err != nil:
		return a
	case genErr != nil:
		a.genErr = genErr
		return a
	}
	if rest, ok := strings.CutPrefix(out.Text, a.text); ok && rest != "" {
		// The generator did not stream all of it (or any).
		s.readLocked(rest)
		a.text = out.Text
	}
	a.plan, a.warnings, a.err = s.end(p)
	return a
}

// streaming is the state of one streamed answer. Progress may arrive on
// several goroutines in turn, hence the lock.
type streaming struct {
	mu    sync.Mutex
	sr    *streamReader
	d     *draft
	draft int
	step  func(int, task.Subtask)
	err   error // why the answer was rejected, once it was
}

func (s *streaming) read(delta string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readLocked(delta)
}

func (s *streaming) readLocked(delta string) error {
	if s.err != nil {
		return s.err
	}
	raws, err := s.sr.feed(delta)
	s.add(raws)
	if s.err == nil && err != nil {
		s.err = err
	}
	return s.err
}

// add checks each task and hands it on; the first that fails rejects the
// answer.
func (s *streaming) add(raws []rawTask) {
	for _, rt := range raws {
		if s.err != nil {
			return
		}
		sub, err := s.d.add(rt)
		if err != nil {
			s.err = fmt.Errorf("validating the model's plan as it streamed: %w", err)
			return
		}
		s.step(s.draft, sub)
	}
}

// end reads what the end of the answer completes and checks the whole
// plan. An answer nothing could be read from as it streamed is parsed
// whole.
func (s *streaming) end(p *Planner) (task.Plan, []string, error) {
	raws, err := s.sr.finish()
	s.add(raws)
	if s.err == nil && err != nil {
		s.err = err
	}
	if s.err != nil {
		return task.Plan{}, s.d.warnings(), s.err
	}
	if len(s.d.plan.Tasks) == 0 {
		return Parse(string(s.sr.buf), p.cat, p.limits)
	}
	plan := s.d.plan
	plan.Replan = s.sr.replan
	if err := plan.Validate(p.limits, p.cat.Has); err != nil {
		return task.Plan{}, s.d.warnings(), fmt.Errorf("validating the model's plan: %w", err)
	}
	return plan, s.d.warnings(), nil
}
