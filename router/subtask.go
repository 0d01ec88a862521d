package router

import (
	"context"
	"fmt"
	"time"

	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/task"
)

// runSubtask runs one subtask to its end: selects a model, dispatches, and
// on failure retries on the next candidate (another replica of the same
// model when it is the only one) until the attempts or the deadline run out.
func (ru *run) runSubtask(ctx context.Context, s task.Subtask, st task.SubtaskState) task.SubtaskState {
	ctx, cancel := context.WithTimeout(ctx, ru.r.cfg.SubtaskTimeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	tokens := task.EstimateTokens(s.Input)
	sel, err := ru.r.sel.Select(ctx, registry.Query{Capability: s.Capability, Tokens: tokens, Hints: ru.req.Hints})
	if err != nil {
		return ru.fail(st, task.AsError(err))
	}
	if sel.Wait > 0 && !sleep(ctx, sel.Wait) {
		return ru.fail(st, task.AsError(context.Cause(ctx)))
	}
	candidates := sel.Candidates()
	next := 0
	var last *task.Error
	for st.Attempts < ru.r.cfg.Attempts {
		model := candidates[next%len(candidates)]
		st.Attempts++
		st.Model = model.Name
		a := ru.attempt(ctx, s, model, st.Attempts, deadline)
		st.Executor = a.executor
		if a.err == nil {
			return ru.succeed(st, a.out)
		}
		last = a.err
		if !retryable(a.err) || ctx.Err() != nil || st.Attempts >= ru.r.cfg.Attempts {
			break
		}
		if a.err.Code == task.CodeContextLength {
			// Only a model with a larger window can take this input.
			if next = largerWindow(candidates, model); next < 0 {
				break
			}
		} else {
			next++ // round robin: the next model, or the same one again via another replica
		}
		ru.emitEvent(task.Event{Type: task.EventRetry, SubtaskID: s.ID, Model: model.Name, Executor: a.executor,
			Attempt: st.Attempts, Error: a.err})
		if wait := a.err.RetryAfter(); wait > 0 && !sleep(ctx, min(wait, time.Until(deadline))) {
			break
		}
	}
	if ctx.Err() != nil && (last == nil || last.Code != task.CodeCancelled) {
		last = task.AsError(context.Cause(ctx))
	}
	return ru.fail(st, last)
}

// largerWindow returns the index of the first candidate whose context
// window is larger than model's, or -1.
func largerWindow(candidates []task.ModelSpec, model task.ModelSpec) int {
	for i, c := range candidates {
		if model.ContextWindow > 0 && (c.ContextWindow == 0 || c.ContextWindow > model.ContextWindow) {
			return i
		}
	}
	return -1
}

func retryable(e *task.Error) bool {
	return e.Retryable || e.Code == task.CodeContextLength
}

func (ru *run) attempt(ctx context.Context, s task.Subtask, model task.ModelSpec, n int, deadline time.Time) attempt {
	w := ru.work(s, model, n, deadline)
	ru.emitEvent(task.Event{Type: task.EventDispatched, SubtaskID: s.ID, Model: model.Name, Attempt: n})
	started := time.Now()
	ru.r.sel.Started(model.Name)
	a := ru.r.dispatch(ctx, w,
		func(executor string) {
			ru.emitEvent(task.Event{Type: task.EventAccepted, SubtaskID: s.ID, Model: model.Name, Executor: executor, Attempt: n})
		},
		func(rep task.Reply) {
			ev := task.Event{Type: task.EventProgress, SubtaskID: s.ID, Model: model.Name, Attempt: n, Text: rep.Delta}
			if ru.req.Body != nil {
				ev.Chunk = rep.Chunk // the ingress relays the caller's own stream
			}
			if ev.Text != "" || len(ev.Chunk) > 0 {
				ru.emitEvent(ev)
			}
		})
	o := registry.Outcome{OK: a.err == nil, Latency: time.Since(started)}
	if a.err != nil {
		o.Code, o.RetryAfter = a.err.Code, a.err.RetryAfter()
	}
	// The outcome is recorded even when ctx has ended.
	ru.r.sel.Finished(context.Background(), model.Name, o)
	return a
}

// work is one attempt of a subtask. The step that answers a passthrough
// gets the caller's own body, which holds the whole conversation; the
// step that writes a planned answer gets the caller's sampling, tools and
// the conversation after the input; every other step the conversation
// before it.
func (ru *run) work(s task.Subtask, model task.ModelSpec, n int, deadline time.Time) task.Work {
	w := task.Work{RequestID: ru.req.ID, SubtaskID: s.ID, Attempt: n, Model: model.Name, Capability: s.Capability,
		Input: s.Input, Args: s.Args, Deadline: deadline, Stream: ru.emit != nil}
	switch {
	case ru.body != nil && ru.answers(s.ID):
		w.Body, w.API = ru.body, ru.req.API
	case ru.answers(s.ID):
		w.Context, w.Sampling, w.Tools, w.After = ru.context, ru.req.Sampling, ru.req.Tools, ru.req.After()
	default:
		w.Context = ru.context
	}
	return w
}

// answers reports whether step id writes the answer: the one subtask of a
// one-step plan, or the model-written merge. That step gets the caller's
// sampling, tools and the conversation after the input; the steps in
// between keep their models' defaults (a max_tokens meant for the answer
// must not cut a summary the answer is made from).
func (ru *run) answers(id string) bool {
	return id == MergeSubtaskID || len(ru.plan.Tasks) == 1
}

func (ru *run) succeed(st task.SubtaskState, out task.Output) task.SubtaskState {
	st.Status, st.EndedAt, st.Output, st.Format, st.Usage = task.StatusDone, time.Now(), out.Text, out.Format, out.Usage
	st.ToolCalls, st.FinishReason, st.Body = out.ToolCalls, out.FinishReason, out.Body
	ru.emitEvent(task.Event{Type: task.EventDone, SubtaskID: st.ID, Model: st.Model, Executor: st.Executor,
		Attempt: st.Attempts, Text: elapsed(st)})
	return st
}

func (ru *run) fail(st task.SubtaskState, err *task.Error) task.SubtaskState {
	id := st.ID
	e := *err
	e.Subtask = id
	st.Error, st.EndedAt = &e, time.Now()
	st.Status = task.StatusFailed
	typ := task.EventFailed
	if e.Code == task.CodeCancelled {
		st.Status, typ = task.StatusCancelled, task.EventCancelled
	}
	ru.emitEvent(task.Event{Type: typ, SubtaskID: id, Model: st.Model, Executor: st.Executor, Attempt: st.Attempts, Error: &e})
	return st
}

func elapsed(st task.SubtaskState) string {
	return fmt.Sprintf("%.1fms", float64(st.EndedAt.Sub(st.StartedAt).Microseconds())/1000)
}

// sleep waits for d or the end of ctx; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
