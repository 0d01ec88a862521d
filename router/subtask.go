package router

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/task"
)

// runSubtask runs one subtask to its end: selects a model, dispatches, and
// on failure retries on the next candidate (another replica of the same
// model when it is the only one) until the attempts or the deadline run
// out. It never waits for a model to cool down: when the registry or a
// model's circuit breaker refuses every candidate, the subtask fails at
// once with model_unavailable and the time to retry.
//
// st is updated in place. The subtask and its state go by pointer down
// to the dispatch, and the rare paths (no model, a retry, the cache)
// have functions of their own: the request's goroutine holds these
// frames while it streams, and keeping them small keeps its stack at
// 16 KB, not 32.
func (ru *run) runSubtask(ctx context.Context, s *task.Subtask, st *task.SubtaskState) {
	ru.trySubtask(ctx, s, st)
	if m := ru.r.cfg.Metrics; m != nil {
		m.SubtaskEnded(st)
	}
}

func (ru *run) trySubtask(ctx context.Context, s *task.Subtask, st *task.SubtaskState) {
	ctx, cancel := context.WithTimeout(ctx, ru.r.cfg.SubtaskTimeout)
	defer cancel()
	// A selection without fallbacks, the common case, is tried from this
	// array, not one allocated for it.
	var one [1]task.ModelSpec
	candidates, err := ru.candidates(ctx, s, one[:0])
	if err != nil {
		ru.noCandidate(ctx, s, st, err)
		return
	}
	last := ru.tryCandidates(ctx, s, st, candidates)
	if st.Status == task.StatusDone {
		return
	}
	if ctx.Err() != nil && (last == nil || last.Code != task.CodeCancelled) {
		last = task.AsError(context.Cause(ctx))
	}
	ru.fail(st, last)
}

// candidates appends to buf the models selected for s, in the order to
// try them.
func (ru *run) candidates(ctx context.Context, s *task.Subtask, buf []task.ModelSpec) ([]task.ModelSpec, error) {
	sel, err := ru.selectFor(ctx, s)
	if err != nil {
		return nil, err
	}
	return append(append(buf, sel.Model), sel.Fallbacks...), nil
}

// noCandidate ends a subtask no model was selected for: a planned merge
// step that no model offers is done by the template merge, any other
// fails with the selection's error.
func (ru *run) noCandidate(ctx context.Context, s *task.Subtask, st *task.SubtaskState, err error) {
	e := task.AsError(err)
	if deps, planned := ru.plannedMerge(s); planned && e.Code == task.CodeNoModel {
		*st = ru.mergeByTemplate(ctx, *st, deps)
		return
	}
	ru.fail(st, e)
}

// tryCandidates dispatches s to the candidates in turn until one
// succeeds, a failure cannot be retried, or the attempts run out; it
// leaves st done on success and returns the last error otherwise. A
// candidate whose breaker refuses (it opened since the selection, or
// another request holds its probe) costs no attempt: the next one is
// tried at once, and when every one refuses, their refusals are the error.
func (ru *run) tryCandidates(ctx context.Context, s *task.Subtask, st *task.SubtaskState, candidates []task.ModelSpec) *task.Error {
	deadline, _ := ctx.Deadline()
	next := 0
	var last, tried *task.Error
	var refused refusals
	var a attempt
	// A subtask may come with attempts made before (for a draft of a
	// streamed plan that was voided): numbering goes on from them, since
	// executors refuse an attempt they were told to cancel.
	first := st.Attempts
	for st.Attempts < first+ru.r.cfg.Attempts && len(candidates) > 0 {
		i := next % len(candidates)
		model := &candidates[i]
		if st.Attempts == first && i == 0 && ru.answerCached(ctx, s, st, model) {
			return nil
		}
		if !ru.attempt(ctx, s, model, st.Attempts+1, deadline, ru.patience(candidates), &a) {
			refused.add(a.err)
			candidates, next, last = slices.Delete(candidates, i, i+1), i, refused.err
			if tried != nil {
				// An attempt that ran says more than the breakers it
				// opened: a 429 stays a 429, asking for the longer wait.
				last = waitingAtLeast(tried, refused.err.RetryAfterMs)
			}
			continue
		}
		st.Timeline = append(st.Timeline, a.record)
		st.Attempts++
		st.Model, st.Executor = model.Name, a.executor
		if a.err == nil {
			ru.remember(ctx, s, model, &a.out)
			a.out.Usage.MemoryTokens = a.memTokens
			ru.succeed(st, &a.out, a.record.EndedAt)
			return nil
		}
		last, tried = a.err, a.err
		if !retryable(a.err) || ctx.Err() != nil || st.Attempts >= first+ru.r.cfg.Attempts || !ru.r.natsUp() {
			break // a retry cannot reach anyone while NATS is away
		}
		if next = ru.nextCandidate(candidates, i, &a); next < 0 {
			break
		}
		if !ru.retry(ctx, s, st, model, &a, candidates[next%len(candidates)].Name, deadline) {
			break
		}
	}
	return last
}

// answerCached ends st with the cached answer of s on model, when the
// cache has one.
func (ru *run) answerCached(ctx context.Context, s *task.Subtask, st *task.SubtaskState, model *task.ModelSpec) bool {
	out, ok := ru.cached(ctx, s, model)
	if ok {
		ru.succeedCached(st, model, &out)
	}
	return ok
}

// retry says that the failed attempt a of s on model is retried on the
// model named next, and waits as long as the failure asks (see pause);
// it reports false when the subtask's context ended meanwhile.
func (ru *run) retry(ctx context.Context, s *task.Subtask, st *task.SubtaskState, model *task.ModelSpec, a *attempt, next string, deadline time.Time) bool {
	ru.emitEvent(task.Event{Type: task.EventRetry, SubtaskID: s.ID, Model: model.Name, Executor: a.executor,
		Attempt: st.Attempts, Error: a.err, Time: a.record.EndedAt})
	if m := ru.r.cfg.Metrics; m != nil {
		m.Retried(model.Name, a.err.Code)
	}
	return ru.pause(ctx, a.err, st.Attempts, model.Name, next, deadline)
}

// nextCandidate picks the candidate for the attempt after a failure of
// candidates[i], or -1 when none can help. A context-length error needs a
// larger window. A request that names its model stays on that model while
// the failure was one replica's (it died, or its queue is full) and
// another replica may take the work; any other failure moves on to the
// next candidate, round robin: another model (for a named one, only its
// configured fallbacks), or the same one again via another replica.
func (ru *run) nextCandidate(candidates []task.ModelSpec, i int, a *attempt) int {
	switch {
	case a.err.Code == task.CodeContextLength:
		return largerWindow(candidates, &candidates[i])
	case ru.req.Model != "" && !a.unserved && (a.err.Code == task.CodeLost || a.err.Code == task.CodeOverloaded):
		return i
	}
	return i + 1
}

// pause waits before retrying the model that failed: what its error asks
// for (retry_after_ms) and, after an overloaded executor, a jittered
// backoff on top (see retryWait). Another model is tried at once, and so
// is a rate-limited model, whose breaker is open now and refuses at once
// with the time to wait. It reports false when the subtask's context
// ended meanwhile.
func (ru *run) pause(ctx context.Context, e *task.Error, attempts int, failed, next string, deadline time.Time) bool {
	if next != failed || e.Code == task.CodeRateLimited {
		return true
	}
	wait := retryWait(e, attempts)
	if wait <= 0 {
		return true
	}
	return sleep(ctx, min(wait, time.Until(deadline)))
}

// refusals gathers the breakers' refusals of one subtask's candidates
// into one model_unavailable error: each one's message, and the shortest
// wait.
type refusals struct {
	err *task.Error
}

func (r *refusals) add(e *task.Error) {
	if r.err == nil {
		c := *e
		r.err = &c
		return
	}
	r.err.Message += "; " + e.Message
	r.err.RetryAfterMs = min(r.err.RetryAfterMs, e.RetryAfterMs)
}

// replicaCounter is what a registry may tell about a model's replicas.
type replicaCounter interface {
	LiveReplicas(model string) int
}

// patience is how much longer than the accept timeout a dispatch waits for
// an executor to take the work when sending it again could reach no one
// else: the subtask's only candidate, with one live replica. The work then
// sits in that executor's queue (a burst, a starved machine), and a copy
// sent again would queue behind it and run twice. With a choice, the
// retry goes elsewhere after the accept timeout.
func (ru *run) patience(candidates []task.ModelSpec) time.Duration {
	if len(candidates) != 1 {
		return 0
	}
	rc, ok := ru.r.sel.(replicaCounter)
	if !ok || rc.LiveReplicas(candidates[0].Name) > 1 {
		return 0
	}
	return ru.r.cfg.LostAfter
}

// waitingAtLeast returns a copy of e that asks for a wait of at least ms
// milliseconds before a retry.
func waitingAtLeast(e *task.Error, ms int64) *task.Error {
	c := *e
	c.RetryAfterMs = max(c.RetryAfterMs, ms)
	return &c
}

// largerWindow returns the index of the first candidate whose context
// window is larger than model's, or -1.
func largerWindow(candidates []task.ModelSpec, model *task.ModelSpec) int {
	for i := range candidates {
		// By index: a copy of each spec would take its size in the frame
		// of tryCandidates, which this is inlined into.
		if w := candidates[i].ContextWindow; model.ContextWindow > 0 && (w == 0 || w > model.ContextWindow) {
			return i
		}
	}
	return -1
}

func retryable(e *task.Error) bool {
	return e.Retryable || e.Code == task.CodeContextLength
}

// attempt dispatches one attempt of s to model, after the model's breaker
// admits it, and leaves its outcome in a; admitted is false, with the
// refusal in a's error, when it does not.
func (ru *run) attempt(ctx context.Context, s *task.Subtask, model *task.ModelSpec, n int, deadline time.Time, patience time.Duration, a *attempt) (admitted bool) {
	if err := ru.r.sel.Started(model.Name); err != nil {
		*a = attempt{err: task.AsError(err)}
		return false
	}
	mem, memTokens := ru.fit(ctx, s, model, n)
	var w task.Work
	ru.work(&w, s, model, n, deadline, mem)
	// The events carry the times the timeline records, so that a live
	// view draws the same attempts as the response, and so does the span.
	rec := task.Attempt{Attempt: n, Model: model.Name, DispatchedAt: time.Now()}
	span := ru.startAttemptSpan(ctx, &w, rec.DispatchedAt)
	ru.emitDispatched(s, model.Name, n, rec.DispatchedAt)
	ru.r.dispatch(ctx, &w, patience,
		func(executor string, at time.Time) {
			if !rec.AcceptedAt.IsZero() {
				return
			}
			// The executor's clock only measured how long it had had the
			// work; this one says when it was sent.
			if at.Before(rec.DispatchedAt) {
				at = rec.DispatchedAt
			}
			rec.AcceptedAt = at
			if m := ru.r.cfg.Metrics; m != nil {
				m.Accepted(model.Name, rec.AcceptedAt.Sub(rec.DispatchedAt))
			}
			ru.emitEvent(task.Event{Type: task.EventAccepted, SubtaskID: s.ID, Model: model.Name, Executor: executor, Attempt: n,
				Time: rec.AcceptedAt})
		},
		func(rep task.Reply) { ru.emitProgress(s, model.Name, n, &rep) }, a)
	rec.EndedAt, rec.Executor, rec.Error = time.Now(), a.executor, a.err
	a.record, a.memTokens = rec, memTokens
	ru.r.endAttemptSpan(span, a, rec.EndedAt)
	ru.reportOutcome(model.Name, a)
	return true
}

// emitDispatched emits the event of the dispatch of attempt n of s. It
// is not inlined, so that the event is not in attempt's frame, which
// stays on the stack for the whole dispatch.
//
//go:noinline
func (ru *run) emitDispatched(s *task.Subtask, model string, n int, at time.Time) {
	ru.emitEvent(task.Event{Type: task.EventDispatched, SubtaskID: s.ID, Capability: s.Capability, Model: model, Attempt: n,
		Input: s.Input, Time: at})
}

// emitProgress emits what a reply of attempt n of s streamed: text, an
// upstream's chunk for an ingress that relays the caller's own stream,
// or a tool's progress. It runs at the deepest point of a streaming
// request's goroutine, under the whole dispatch.
func (ru *run) emitProgress(s *task.Subtask, model string, n int, rep *task.Reply) {
	var chunk json.RawMessage
	if ru.req.Body != nil {
		chunk = rep.Chunk // the ingress relays the caller's own stream
	}
	if rep.Delta == "" && len(chunk) == 0 && rep.Progress == nil {
		return
	}
	// The event is built as the argument, with no copy of it in this frame.
	ru.emitEvent(task.Event{Type: task.EventProgress, SubtaskID: s.ID, Capability: s.Capability, Model: model, Attempt: n,
		Text: rep.Delta, Progress: rep.Progress, Chunk: chunk})
}

// reportOutcome tells the registry how attempt a on model went, even
// when the request has ended.
func (ru *run) reportOutcome(model string, a *attempt) {
	o := registry.Outcome{OK: a.err == nil, Latency: a.record.EndedAt.Sub(a.record.DispatchedAt), Replica: a.executor, Usage: a.out.Usage}
	if a.err != nil {
		o.Code, o.Message, o.RetryAfter = a.err.Code, a.err.Message, a.err.RetryAfter()
	}
	ru.r.sel.Finished(context.Background(), model, o)
}

// work writes into w one attempt of a subtask. The step that answers a passthrough
// gets the caller's own body, which holds the whole conversation, with
// the conversation's memory (mem) before the caller's messages when the
// request names a conversation; the step that writes a planned answer
// gets the caller's sampling, tools and the conversation after the
// input; every other step the conversation before it. Memory comes
// before the caller's messages. A model with a temperature of its own
// gets it unless the caller's sampling sets one.
func (ru *run) work(w *task.Work, s *task.Subtask, model *task.ModelSpec, n int, deadline time.Time, mem []task.Message) {
	*w = task.Work{RequestID: ru.req.ID, SubtaskID: s.ID, Attempt: n, Model: model.Name, Capability: s.Capability,
		Input: s.Input, Args: s.Args, Deadline: deadline, Stream: ru.stream, Artifacts: ru.readsOf(s.ID)}
	switch {
	case ru.body != nil && ru.answers(s.ID):
		w.Body, w.API = ru.bodyWith(mem), ru.req.API
		return
	case ru.answers(s.ID):
		w.Context, w.Sampling, w.Tools, w.After = withMemory(mem, ru.context), ru.req.Sampling, ru.req.Tools, ru.req.After()
	default:
		w.Context = withMemory(mem, ru.context)
	}
	w.Sampling = withTemperature(w.Sampling, model.Temperature)
}

// withTemperature returns s with temperature t when s sets none.
func withTemperature(s *task.Sampling, t *float64) *task.Sampling {
	switch {
	case t == nil || s != nil && s.Temperature != nil:
		return s
	case s == nil:
		return &task.Sampling{Temperature: t}
	}
	c := *s
	c.Temperature = t
	return &c
}

// answers reports whether step id writes the answer: the one subtask of a
// one-step plan, or the model-written merge. That step gets the caller's
// sampling, tools and the conversation after the input; the steps in
// between keep their models' defaults (a max_tokens meant for the answer
// must not cut a summary the answer is made from).
func (ru *run) answers(id string) bool {
	if id == MergeSubtaskID {
		return true
	}
	if ru.round > 1 {
		return false // a further round's steps feed the answer's merge
	}
	ru.grow.RLock()
	defer ru.grow.RUnlock()
	return len(ru.plan.Tasks) == 1
}

// succeed ends a subtask with the output of its attempt that ended at ended.
func (ru *run) succeed(st *task.SubtaskState, out *task.Output, ended time.Time) {
	st.Status, st.EndedAt, st.Output, st.Format, st.Usage = task.StatusDone, ended, out.Text, out.Format, out.Usage
	st.ToolCalls, st.FinishReason, st.Body = out.ToolCalls, out.FinishReason, out.Body
	if len(out.Artifacts) > 0 {
		st.Artifacts = make([]task.ArtifactRef, len(out.Artifacts))
		for k, a := range out.Artifacts {
			a.Ref = st.ID
			st.Artifacts[k] = a
		}
	}
	if ru.observed() {
		ru.emitDone(st, out, ended)
	}
}

// emitDone emits the done event of a subtask that ended with out.
func (ru *run) emitDone(st *task.SubtaskState, out *task.Output, ended time.Time) {
	o := *out // only an observed run pays for the copy on the heap
	o.Body = nil
	ru.emitEvent(task.Event{Type: task.EventDone, SubtaskID: st.ID, Model: st.Model, Executor: st.Executor,
		Attempt: st.Attempts, Text: elapsed(st), Output: &o, Time: ended})
}

// fail ends a subtask with err: failed, or cancelled when err says so.
func (ru *run) fail(st *task.SubtaskState, err *task.Error) {
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
}

func elapsed(st *task.SubtaskState) string {
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
