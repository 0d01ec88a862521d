package router

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// run is the state of one request being run.
type run struct {
	r       *Router
	req     task.Request
	plan    task.Plan
	input   string
	context []task.Message
	started time.Time
	emit    func(task.Event)
	emitMu  sync.Mutex // events reach onEvent one at a time

	states  map[string]*task.SubtaskState
	outputs map[string]string
	waiting map[string]int    // unfinished dependencies per subtask
	caps    map[string]string // capability per subtask; read-only once built
	done    chan finished
}

type finished struct {
	id    string
	state task.SubtaskState
}

// Run runs a plan for a request: every subtask is dispatched the moment its
// last dependency finishes, independent subtasks run in parallel, and the
// results are merged. A subtask whose dependency failed is cancelled; the
// others still run, so the answer holds every result that could be had.
func (r *Router) Run(ctx context.Context, req task.Request, plan task.Plan, onEvent func(task.Event)) task.Response {
	if req.ID == "" {
		req.ID = task.NewID("req_")
	}
	resp := task.Response{ID: req.ID, Plan: &plan, Subtasks: []task.SubtaskState{}}
	var known func(string) bool
	if r.cfg.Catalog != nil {
		known = r.cfg.Catalog.Has
	}
	if err := plan.Validate(r.cfg.Limits, known); err != nil {
		resp.Error = task.AsError(err)
		return resp
	}
	ru := r.newRun(req, plan, onEvent)
	ru.emitEvent(task.Event{Type: task.EventPlanned, Subtasks: len(plan.Tasks), Text: fmt.Sprintf("%d subtasks", len(plan.Tasks))})
	ru.schedule(ctx)
	return ru.respond(ctx, resp)
}

func (r *Router) newRun(req task.Request, plan task.Plan, onEvent func(task.Event)) *run {
	input, history := req.Text()
	ru := &run{r: r, req: req, plan: plan, input: input, context: history, started: time.Now(),
		states: map[string]*task.SubtaskState{}, outputs: map[string]string{}, waiting: map[string]int{}, caps: map[string]string{},
		done: make(chan finished, len(plan.Tasks))}
	switch publish := req.Events || r.cfg.AllEvents; {
	case publish:
		ru.emit = func(ev task.Event) {
			r.publishEvent(ev)
			if onEvent != nil {
				onEvent(ev)
			}
		}
	case onEvent != nil:
		ru.emit = onEvent
	}
	for _, s := range plan.Tasks {
		ru.states[s.ID] = &task.SubtaskState{ID: s.ID, Capability: s.Capability, Deps: s.Deps, Status: task.StatusPending}
		ru.waiting[s.ID] = len(s.Deps)
		ru.caps[s.ID] = s.Capability
	}
	return ru
}

// schedule starts the subtasks without dependencies, then reacts to each
// completion by starting the dependents it made ready. There is no polling:
// the loop sleeps on the channel that finished subtasks report to.
func (ru *run) schedule(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	dependents := ru.plan.Dependents()
	byID := map[string]task.Subtask{}
	for _, s := range ru.plan.Tasks {
		byID[s.ID] = s
	}
	var ready []task.Subtask
	for _, s := range ru.plan.Tasks {
		if len(s.Deps) == 0 {
			ready = append(ready, s)
		}
	}
	running := 0
	if len(ready) == 1 && len(ru.plan.Tasks) == 1 {
		// A one-subtask plan runs on this goroutine: no handoff.
		ru.done <- ru.runNow(ctx, ready[0])
		running = 1
	} else {
		for _, s := range ready {
			ru.start(ctx, s)
			running++
		}
	}
	for running > 0 {
		f := <-ru.done
		running--
		*ru.states[f.id] = f.state
		if f.state.Status == task.StatusDone {
			ru.outputs[f.id] = f.state.Output
		}
		for _, next := range dependents[f.id] {
			if f.state.Status != task.StatusDone {
				ru.skip(next, f.id, dependents)
				continue
			}
			ru.waiting[next]--
			if ru.waiting[next] == 0 && ru.states[next].Status == task.StatusPending {
				ru.start(ctx, byID[next])
				running++
			}
		}
	}
	if ctx.Err() != nil || ru.anyCancelled() {
		ru.r.cancelRequest(ru.req.ID)
	}
}

// skip cancels a subtask (and its dependents) whose dependency failed.
func (ru *run) skip(id, because string, dependents map[string][]string) {
	st := ru.states[id]
	if st.Status != task.StatusPending {
		return
	}
	st.Status = task.StatusCancelled
	st.Error = &task.Error{Code: task.CodeCancelled, Subtask: id,
		Message: fmt.Sprintf("not run because dependency %s did not finish", because)}
	ru.emitEvent(task.Event{Type: task.EventCancelled, SubtaskID: id, Error: st.Error})
	for _, next := range dependents[id] {
		ru.skip(next, id, dependents)
	}
}

func (ru *run) anyCancelled() bool {
	for _, st := range ru.states {
		if st.Status == task.StatusCancelled && st.Attempts > 0 {
			return true
		}
	}
	return false
}

// start runs a ready subtask on a goroutine of its own.
func (ru *run) start(ctx context.Context, s task.Subtask) {
	in, st := ru.prepare(s)
	go func() { ru.done <- finished{id: s.ID, state: ru.runSubtask(ctx, in, st)} }()
}

// runNow runs a ready subtask on the calling goroutine.
func (ru *run) runNow(ctx context.Context, s task.Subtask) finished {
	in, st := ru.prepare(s)
	return finished{id: s.ID, state: ru.runSubtask(ctx, in, st)}
}

// prepare substitutes the outputs of a subtask's dependencies into it. It
// reads the run's state, so only the scheduling goroutine calls it.
func (ru *run) prepare(s task.Subtask) (task.Subtask, task.SubtaskState) {
	st := *ru.states[s.ID]
	st.Status = task.StatusRunning
	st.StartedAt = time.Now()
	in := s
	in.Input = task.Substitute(s.Input, ru.outputs)
	if len(s.Args) > 0 {
		in.Args = make(map[string]string, len(s.Args))
		for k, v := range s.Args {
			in.Args[k] = task.Substitute(v, ru.outputs)
		}
	}
	return in, st
}

func (ru *run) emitEvent(ev task.Event) {
	if ru.emit == nil {
		return // nobody listens: skip building the event
	}
	ev.RequestID = ru.req.ID
	if ev.SubtaskID != "" {
		ev.Capability = ru.caps[ev.SubtaskID]
	}
	ev.Time = time.Now()
	ev.ElapsedMs = ev.Time.Sub(ru.started).Milliseconds()
	ru.emitMu.Lock()
	defer ru.emitMu.Unlock()
	ru.emit(ev)
}
