package router

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// StreamPlanner is a Planner that hands over each subtask the moment it
// has written it (planner.StreamPlanner, llm.Planner). The router then
// runs every subtask whose dependencies are done while the rest of the
// plan is still being written, as LLMCompiler's task fetching unit does.
// A subtask of a later draft voids those of the earlier drafts (that
// answer turned out invalid and the model is asked again); the plan
// returned is the whole plan, and when it is not the last draft grown
// (the rules' plan after the model failed) it replaces what ran.
type StreamPlanner interface {
	Planner
	PlanStream(ctx context.Context, req task.Request, step func(draft int, s task.Subtask)) (task.Plan, error)
}

// streams reports whether the request is planned with its subtasks
// streamed: the router plans it (no plan or model of its own) with a
// StreamPlanner. Requests with attachments are planned whole, since the
// types along every edge are checked before anything runs.
func (r *Router) streams(req *task.Request) (StreamPlanner, bool) {
	sp, ok := r.planner.(StreamPlanner)
	return sp, ok && req.Plan == nil && req.Model == "" && len(req.Attachments) == 0
}

// runStreamed plans a request with sp and runs its subtasks as they are
// written. A plan that came whole, with nothing streamed (the rules', or
// a form read only once complete), runs as any plan does.
func (r *Router) runStreamed(ctx context.Context, req *task.Request, sp StreamPlanner, started time.Time, onEvent func(task.Event)) task.Response {
	ru := r.newRun(req, task.Plan{}, started, onEvent, true)
	sc := &streamed{ru: ru, keys: map[genIndex]string{}, tried: map[string]task.SubtaskState{}, ready: map[string]task.SubtaskState{}}
	plan, err := sc.run(ctx, sp)
	if sc.draft == 0 {
		if err != nil {
			return r.refuse(req, started, err, onEvent)
		}
		return r.run(ctx, req, plan, started, onEvent, r.replanner(req))
	}
	resp := task.Response{ID: req.ID, Subtasks: []task.SubtaskState{}}
	if err != nil {
		resp.Error, resp.Usage = task.AsError(err), sc.spentUsage()
		ru.finish(&resp)
		return resp
	}
	ru.moreRounds(ctx, r.replanner(req))
	plan = ru.plan
	resp.Plan = &plan
	ru.respond(ctx, &resp)
	resp.Usage = resp.Usage.Add(sc.spentUsage())
	if ru.mem != nil {
		resp.Usage = resp.Usage.Add(ru.mem.usage)
		ru.recordMemory(ctx, resp)
	}
	ru.finish(&resp)
	return resp
}

// stepQueue carries subtasks from the planner's goroutine to the run's:
// the planner never waits for the run.
type stepQueue struct {
	mu     sync.Mutex
	steps  []draftStep
	ended  bool
	plan   task.Plan
	err    error
	notify chan struct{}
}

type draftStep struct {
	draft int
	s     task.Subtask
}

func (q *stepQueue) push(draft int, s task.Subtask) {
	q.mu.Lock()
	q.steps = append(q.steps, draftStep{draft, s})
	q.mu.Unlock()
	q.wake()
}

func (q *stepQueue) end(plan task.Plan, err error) {
	q.mu.Lock()
	q.ended, q.plan, q.err = true, plan, err
	q.mu.Unlock()
	q.wake()
}

func (q *stepQueue) wake() {
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

func (q *stepQueue) take() (steps []draftStep, ended bool, plan task.Plan, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	steps, q.steps = q.steps, nil
	return steps, q.ended, q.plan, q.err
}

// streamed schedules a plan that grows while it runs. Only run's
// goroutine touches it.
type streamed struct {
	ru *run
	// draft is the planner's draft being run; gen counts the drafts the
	// run started, the planner's and those that replaced them.
	draft, gen int
	// draftCtx is the draft's part of the request's context: voiding the
	// draft cancels it, and with it the draft's running subtasks. It
	// lives as long as the draft, on run's goroutine.
	draftCtx   context.Context
	cancel     context.CancelFunc
	keys       map[genIndex]string // what each started subtask asked
	running    int                 // subtasks of this draft running
	stale      int                 // subtasks of voided drafts still winding down
	dependents [][]int
	ended      bool
	// tried keeps, by id, the attempts made for voided drafts, so that
	// attempt numbers go on from them; ready keeps, by what they were
	// asked, the subtasks of voided drafts that finished, so that the
	// same step in the plan that replaces them is not run (and billed)
	// again; spent is their usage until one is taken.
	tried map[string]task.SubtaskState
	ready map[string]task.SubtaskState
	// whole is the plan of a planner that streamed nothing.
	whole task.Plan
}

// genIndex names a subtask of a generation by its position.
type genIndex struct{ gen, i int }

// run plans with sp and runs what it writes, until the plan is whole and
// every subtask has ended. It returns the whole plan, or the planner's
// error once everything started has been cancelled.
func (sc *streamed) run(ctx context.Context, sp StreamPlanner) (task.Plan, error) {
	ru := sc.ru
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	q := &stepQueue{notify: make(chan struct{}, 1)}
	planned := make(chan struct{})
	go func() {
		defer close(planned)
		pctx, span := ru.r.startPlanSpan(ctx, ru.req)
		plan, err := sp.PlanStream(pctx, ru.req, q.push)
		endPlanSpan(span, plan, err)
		q.end(plan, err)
	}()
	defer func() { <-planned }()
	ru.done = make(chan finished)
	sc.reset(ctx)
	var planErr error
	for !sc.ended || sc.running > 0 || sc.stale > 0 {
		select {
		case f := <-ru.done:
			sc.finished(f)
		case <-q.notify:
			if err := sc.take(ctx, q); err != nil && planErr == nil {
				planErr = err
				cancel() // stop planning and everything started
			}
		}
		sc.kick()
	}
	sc.cancel()
	if planErr != nil {
		return task.Plan{}, planErr
	}
	if sc.draft == 0 {
		return sc.whole, nil
	}
	if ctx.Err() != nil || ru.anyCancelled() {
		ru.r.cancelRequest(ru.req.ID)
	}
	return ru.plan, nil
}

// take adds what the planner wrote since the last wake-up.
func (sc *streamed) take(ctx context.Context, q *stepQueue) error {
	steps, ended, plan, err := q.take()
	if sc.draft == 0 && len(steps) > 0 {
		// The first subtask: its context (the conversation) is needed now.
		if err := sc.ru.openMemory(ctx); err != nil {
			sc.draft = steps[0].draft
			return err
		}
	}
	for _, ds := range steps {
		if ds.draft > sc.draft {
			if len(sc.ru.plan.Tasks) > 0 {
				sc.void(ctx, "the planner's answer turned out invalid; it is being asked again")
			}
			sc.draft = ds.draft
		}
		if ds.draft != sc.draft {
			continue
		}
		if err := sc.add(ds.s); err != nil {
			sc.void(ctx, "the streamed plan is invalid")
			return err
		}
	}
	if !ended || sc.ended {
		return nil
	}
	sc.ended = true
	if sc.draft == 0 {
		// Nothing was streamed: the plan runs as any plan does.
		sc.whole = plan
		return err
	}
	if err == nil {
		err = sc.settle(ctx, plan)
	}
	if err != nil {
		sc.void(ctx, "planning failed")
	}
	return err
}

// settle makes the whole plan the one that runs: the draft grown by the
// subtasks not streamed, or in its place another plan.
func (sc *streamed) settle(ctx context.Context, plan task.Plan) error {
	ru := sc.ru
	plan = plan.Normalised()
	var known func(string) bool
	if cat := ru.r.catalog(); cat != nil {
		known = cat.Has
	}
	if err := plan.Validate(ru.r.cfg.Limits, known); err != nil {
		return err
	}
	n := len(ru.plan.Tasks)
	if n > len(plan.Tasks) || !slices.EqualFunc(ru.plan.Tasks, plan.Tasks[:n], sameSubtask) {
		sc.void(ctx, "the plan was replaced: "+strings.TrimSpace(plan.FallbackReason))
		n = 0
	}
	for _, s := range plan.Tasks[n:] {
		if err := sc.add(s); err != nil {
			return err
		}
	}
	ru.grow.Lock()
	tasks := ru.plan.Tasks
	ru.plan = plan
	ru.plan.Tasks = tasks
	ru.grow.Unlock()
	if m := ru.r.cfg.Metrics; m != nil {
		m.Planned(plannerOf(plan), plan.FallbackReason != "")
	}
	ru.emitEvent(task.Event{Type: task.EventPlanned, Subtasks: len(plan.Tasks), Text: fmt.Sprintf("%d subtasks", len(plan.Tasks)),
		Plan: &plan, Input: ru.input, Ingress: ru.req.Ingress})
	return nil
}

// sameSubtask reports whether two subtasks ask for the same work.
func sameSubtask(a, b task.Subtask) bool {
	return a.ID == b.ID && a.Capability == b.Capability && a.Input == b.Input &&
		maps.Equal(a.Args, b.Args) && slices.Equal(a.Deps, b.Deps)
}

// add appends a subtask to the plan that runs. It starts when kick finds
// its dependencies done; a failed dependency cancels it at once. A plan
// that the subtask makes invalid (the checks Run makes of a whole plan)
// is an error.
func (sc *streamed) add(s task.Subtask) error {
	ru := sc.ru
	if s.Deps == nil {
		s.Deps = []string{}
	}
	s.Args = task.NormaliseArgs(s.Capability, s.Args)
	if err := sc.check(s); err != nil {
		return err
	}
	i := len(ru.plan.Tasks)
	st := task.SubtaskState{ID: s.ID, Capability: s.Capability, Deps: s.Deps, Status: task.StatusPending}
	if before, ok := sc.tried[s.ID]; ok {
		st.Attempts, st.Timeline = before.Attempts, before.Timeline
	}
	ru.grow.Lock()
	ru.plan.Tasks = append(ru.plan.Tasks, s)
	ru.index[s.ID] = i
	ru.reads = append(ru.reads, nil)
	plan := task.Plan{Tasks: slices.Clone(ru.plan.Tasks)}
	ru.grow.Unlock()
	ru.states = append(ru.states, st)
	ru.waiting = append(ru.waiting, 0)
	sc.dependents = append(sc.dependents, nil)
	failed := ""
	for _, d := range s.Deps {
		j := ru.index[d]
		sc.dependents[j] = append(sc.dependents[j], i)
		switch ru.states[j].Status {
		case task.StatusDone:
		case task.StatusPending, task.StatusRunning:
			ru.waiting[i]++
		default:
			failed = d
		}
	}
	if ru.observed() {
		ru.emitEvent(task.Event{Type: task.EventPlanned, SubtaskID: s.ID, Subtasks: i + 1,
			Text: fmt.Sprintf("%s written, %d so far", s.ID, i+1), Plan: &plan, Input: ru.input, Ingress: ru.req.Ingress})
	}
	if failed != "" {
		ru.skip(i, failed, sc.dependents)
	}
	return nil
}

// check checks the plan so far with s added, as Run checks a plan.
func (sc *streamed) check(s task.Subtask) error {
	ru := sc.ru
	next := task.Plan{Tasks: append(ru.plan.Tasks[:len(ru.plan.Tasks):len(ru.plan.Tasks)], s)}
	var known func(string) bool
	if cat := ru.r.catalog(); cat != nil {
		known = cat.Has
	}
	if err := next.Validate(ru.r.cfg.Limits, known); err != nil {
		return err
	}
	return next.CheckTypes(ru.r.catalog(), nil)
}

// kick starts every subtask whose dependencies are done, unless voided
// subtasks are still winding down (their attempt numbers are not known
// yet), or the plan so far is one subtask: that may be the whole plan,
// whose one step answers with the caller's sampling and tools.
func (sc *streamed) kick() {
	ru := sc.ru
	if sc.stale > 0 || len(ru.plan.Tasks) == 1 && !sc.ended {
		return
	}
	for i := range ru.states {
		if ru.states[i].Status == task.StatusPending && ru.waiting[i] == 0 {
			sc.start(i)
		}
	}
}

// start runs a ready subtask on a goroutine of its own, or takes the
// result of a voided draft's subtask that was asked the same.
func (sc *streamed) start(i int) {
	ru := sc.ru
	ru.states[i].Status = task.StatusRunning
	var in task.Subtask
	var st task.SubtaskState
	ru.prepare(i, &in, &st)
	sc.running++
	gen, ctx, key := sc.gen, sc.draftCtx, workKey(in)
	sc.keys[genIndex{gen, i}] = key
	if done, ok := sc.ready[key]; ok {
		delete(sc.ready, key)
		done.ID, done.Deps, done.StartedAt = st.ID, st.Deps, st.StartedAt
		ru.emitEvent(task.Event{Type: task.EventDone, SubtaskID: st.ID, Model: done.Model, Executor: done.Executor,
			Attempt: done.Attempts, Text: "the same step of a voided draft finished it", Output: &task.Output{Text: done.Output, Usage: done.Usage}})
		go func() { ru.done <- finished{i: i, state: done, gen: gen} }()
		return
	}
	go ru.runApart(ctx, in, finished{i: i, state: st, gen: gen})
}

// workKey is what a prepared subtask asks of a model.
func workKey(s task.Subtask) string {
	var b strings.Builder
	b.WriteString(s.Capability)
	b.WriteByte(0)
	b.WriteString(s.Input)
	for _, k := range slices.Sorted(maps.Keys(s.Args)) {
		b.WriteByte(0)
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(s.Args[k])
	}
	return b.String()
}

// finished takes a subtask's end: for the draft that runs, its
// dependents become ready or are cancelled; for a voided draft, its
// attempts and result are kept.
func (sc *streamed) finished(f finished) {
	ru := sc.ru
	if f.gen != sc.gen {
		sc.stale--
		sc.keep(f.state, sc.keys[genIndex{f.gen, f.i}])
		return
	}
	sc.running--
	ru.states[f.i] = f.state
	if f.state.Status == task.StatusDone {
		ru.outputs[f.state.ID] = f.state.Output
		ru.noteProduced(f.state)
	}
	for _, next := range sc.dependents[f.i] {
		if f.state.Status != task.StatusDone {
			ru.skip(next, f.state.ID, sc.dependents)
			continue
		}
		ru.waiting[next]--
	}
}

// keep remembers a voided subtask's attempts and, when it finished, its
// result for the same step of the plan that replaces it.
func (sc *streamed) keep(st task.SubtaskState, key string) {
	if st.Attempts > 0 {
		sc.tried[st.ID] = st
	}
	if st.Status == task.StatusDone && key != "" {
		sc.ready[key] = st
	}
}

// void cancels the draft that runs and starts an empty one: running
// subtasks are stopped at their executors, finished ones are kept.
func (sc *streamed) void(ctx context.Context, why string) {
	ru := sc.ru
	sc.cancel()
	ru.r.cfg.Logger.Debug("voiding the streamed plan's draft", "request_id", ru.req.ID, "subtasks", len(ru.plan.Tasks), "why", why)
	for i, st := range ru.states {
		if st.Status == task.StatusDone {
			sc.keep(st, sc.keys[genIndex{sc.gen, i}])
		}
	}
	sc.stale += sc.running
	sc.running = 0
	sc.reset(ctx)
}

// reset starts an empty draft with a context of its own.
func (sc *streamed) reset(ctx context.Context) {
	ru := sc.ru
	ru.grow.Lock()
	ru.plan.Tasks, ru.index, ru.reads = nil, map[string]int{}, nil
	ru.grow.Unlock()
	sc.gen++
	ru.states, ru.waiting, sc.dependents = nil, nil, nil
	ru.outputs, ru.produced = map[string]string{}, nil
	sc.draftCtx, sc.cancel = context.WithCancel(ctx)
}

// spentUsage is the usage of voided subtasks that finished and were not
// taken by the plan that replaced them: paid for, and billed once.
func (sc *streamed) spentUsage() task.Usage {
	var u task.Usage
	for _, st := range sc.ready {
		u = u.Add(st.Usage)
	}
	return u
}
