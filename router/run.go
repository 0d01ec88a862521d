package router

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// run is the state of one request being run. Subtask state lives in
// slices in plan order; index maps an id to its position.
type run struct {
	r       *Router
	req     task.Request
	plan    task.Plan
	input   string
	context []task.Message
	started time.Time
	emit    func(task.Event)
	emitMu  sync.Mutex // events reach onEvent one at a time
	// body is the OpenAI request body the answering step relays when the
	// run is a passthrough (see passthrough); nil otherwise.
	body json.RawMessage
	// stream says someone follows the request's progress: executors
	// then send their text as they write it.
	stream bool
	// mem is the request's conversation, when it names one.
	mem *runMemory

	// grow guards plan, index and reads while a streamed plan grows (see
	// stream.go): the subtasks' goroutines read them. A plan given whole
	// never changes once built.
	grow    sync.RWMutex
	index   map[string]int
	states  []task.SubtaskState
	waiting []int             // unfinished dependencies per subtask
	outputs map[string]string // outputs of finished subtasks, for {{id}}
	// attachments are the request's, as the plan refers to them ({{a1}});
	// produced holds the artifacts of finished subtasks that made some;
	// reads, by plan index, the artifacts each subtask reads, set before
	// it starts.
	attachments []task.ArtifactRef
	produced    map[string][]task.ArtifactRef
	reads       [][]task.ArtifactRef
	// mergeInputs holds, by id, what each planned merge step merges
	// (plannedmerge.go); guarded by grow.
	mergeInputs map[string][]task.SubtaskState
	// round numbers a further round's run from 2 (rounds.go); superseded
	// names the steps of earlier rounds that a later round replanned.
	round      int
	superseded map[string]bool
	done       chan finished
}

type finished struct {
	i     int
	state task.SubtaskState
	// gen is the generation of a streamed plan the subtask ran for
	// (stream.go); a voided generation's results are not the plan's.
	gen int
}

// Run runs a plan for a request: every subtask is dispatched the moment its
// last dependency finishes, independent subtasks run in parallel, and the
// results are merged. A subtask whose dependency failed is cancelled; the
// others still run, so the answer holds every result that could be had.
func (r *Router) Run(ctx context.Context, req task.Request, plan task.Plan, onEvent func(task.Event)) task.Response {
	started := time.Now()
	if req.ID == "" {
		req.ID = task.NewID("req_")
	}
	resp := r.run(ctx, &req, plan, started, onEvent, nil)
	r.ended(&req, &resp, started)
	return resp
}

// run is Run for a request that started (arrived) at started; rp, when
// set, plans further rounds (rounds.go).
func (r *Router) run(ctx context.Context, req *task.Request, plan task.Plan, started time.Time, onEvent func(task.Event), rp Replanner) task.Response {
	plan = plan.Normalised() // a given plan may spell arguments as models do
	resp := task.Response{ID: req.ID, Plan: &plan, Subtasks: []task.SubtaskState{}}
	var known func(string) bool
	if cat := r.catalog(); cat != nil {
		known = cat.Has
	}
	err := plan.Validate(r.cfg.Limits, known)
	if err == nil {
		err = r.checkAttachments(ctx, req, plan)
	}
	ru := r.newRun(req, plan, started, onEvent, true)
	if err != nil {
		resp.Error = task.AsError(err)
		ru.finish(&resp)
		return resp
	}
	if m := r.cfg.Metrics; m != nil {
		m.Planned(plannerOf(plan), plan.FallbackReason != "")
	}
	err = ru.passthrough()
	if err == nil {
		err = ru.openMemory(ctx)
	}
	if err != nil {
		resp.Error = task.AsError(err)
		ru.finish(&resp)
		return resp
	}
	ru.emitPlanned(&plan)
	ru.schedule(ctx)
	if rp != nil {
		ru.moreRounds(ctx, rp)
		all := ru.plan
		resp.Plan = &all
	}
	ru.respond(ctx, &resp)
	if ru.mem != nil {
		resp.Usage = resp.Usage.Add(ru.mem.usage)
		ru.recordMemory(ctx, resp)
	}
	ru.finish(&resp)
	return resp
}

// newRun prepares the run of a plan. Its events go to the router's
// observer (when observe is set and the router has one), to the
// request's events subject (when it asked, or the router publishes all)
// and to onEvent, in this order.
func (r *Router) newRun(req *task.Request, plan task.Plan, started time.Time, onEvent func(task.Event), observe bool) *run {
	input, history := req.Text()
	n := len(plan.Tasks)
	ru := &run{r: r, req: *req, plan: plan, input: input, context: history, started: started,
		index: make(map[string]int, n), states: make([]task.SubtaskState, n), waiting: make([]int, n)}
	to := r.eventSubjects(req)
	ru.stream = len(to) > 0 || onEvent != nil
	ru.emit = r.emitter(to, onEvent, observe)
	if len(req.Attachments) > 0 {
		ru.attachments, ru.reads = attachmentRefs(*req), make([][]task.ArtifactRef, n)
	}
	for i, s := range plan.Tasks {
		ru.index[s.ID] = i
		ru.states[i] = task.SubtaskState{ID: s.ID, Capability: s.Capability, Deps: s.Deps, Status: task.StatusPending}
		ru.waiting[i] = len(s.Deps)
	}
	return ru
}

// passthrough makes a run that calls a model the caller named with the
// caller's own conversation a transparent one: a request naming a model
// whose plan is one step over the caller's input (the plan an ingress
// builds for a named model, or one the router planned), not a subtask
// the caller or the router wrote. Its step gets the caller's OpenAI body,
// or for a request that came without one (tr.v1.req, a job) the body
// written from its messages, sampling and tools, with nothing added: the
// router's own prompts are for the subtasks it writes itself.
func (ru *run) passthrough() error {
	if ru.req.Model == "" || len(ru.plan.Tasks) != 1 {
		return nil
	}
	if ru.req.Body != nil {
		ru.body = ru.req.Body
		return nil
	}
	if ru.req.Plan != nil && ru.plan.Tasks[0].Input != ru.input {
		return nil
	}
	body, err := ru.req.ChatBody(ru.stream)
	if err != nil {
		return task.Errorf(task.CodeInvalidRequest, "writing the request for model %s: %v", ru.req.Model, err)
	}
	ru.body = body
	return nil
}

// emitPlanned emits the event of the run's plan.
func (ru *run) emitPlanned(plan *task.Plan) {
	if ru.emit == nil {
		return
	}
	ru.emitEvent(task.Event{Type: task.EventPlanned, Subtasks: len(plan.Tasks), Text: fmt.Sprintf("%d subtasks", len(plan.Tasks)),
		Plan: plan, Input: ru.input, Ingress: ru.req.Ingress})
}

// schedule starts the subtasks without dependencies, then reacts to each
// completion by starting the dependents it made ready. There is no polling:
// the loop sleeps on the channel that finished subtasks report to.
func (ru *run) schedule(ctx context.Context) {
	if len(ru.plan.Tasks) == 1 {
		// A one-subtask plan runs on this goroutine: no handoff, and
		// nothing left running to cancel when it returns.
		ru.runNow(ctx, 0)
	} else {
		ru.scheduleDAG(ctx)
	}
	if ctx.Err() != nil || ru.anyCancelled() {
		ru.r.cancelRequest(ru.req.ID)
	}
}

// scheduleDAG runs a plan of several subtasks, each on a goroutine of
// its own; those still running when it returns (the request ended) are
// cancelled.
func (ru *run) scheduleDAG(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	dependents := make([][]int, len(ru.plan.Tasks))
	for i, s := range ru.plan.Tasks {
		for _, d := range s.Deps {
			j := ru.index[d]
			dependents[j] = append(dependents[j], i)
		}
	}
	ru.done = make(chan finished, len(ru.plan.Tasks))
	ru.outputs = make(map[string]string, len(ru.plan.Tasks))
	if ru.reads == nil {
		// Set before any subtask starts: their goroutines read it.
		ru.reads = make([][]task.ArtifactRef, len(ru.plan.Tasks))
	}
	running := 0
	for i, s := range ru.plan.Tasks {
		if len(s.Deps) == 0 {
			ru.start(ctx, i)
			running++
		}
	}
	for running > 0 {
		f := <-ru.done
		running--
		ru.states[f.i] = f.state
		if f.state.Status == task.StatusDone {
			ru.outputs[f.state.ID] = f.state.Output
			ru.noteProduced(f.state)
		}
		for _, next := range dependents[f.i] {
			if f.state.Status != task.StatusDone {
				ru.skip(next, f.state.ID, dependents)
				continue
			}
			ru.waiting[next]--
			if ru.waiting[next] == 0 && ru.states[next].Status == task.StatusPending {
				ru.start(ctx, next)
				running++
			}
		}
	}
}

// skip cancels a subtask (and its dependents) whose dependency failed.
func (ru *run) skip(i int, because string, dependents [][]int) {
	st := &ru.states[i]
	if st.Status != task.StatusPending {
		return
	}
	st.Status = task.StatusCancelled
	st.Error = &task.Error{Code: task.CodeCancelled, Subtask: st.ID,
		Message: fmt.Sprintf("not run because dependency %s did not finish", because)}
	ru.emitEvent(task.Event{Type: task.EventCancelled, SubtaskID: st.ID, Error: st.Error})
	for _, next := range dependents[i] {
		ru.skip(next, st.ID, dependents)
	}
}

// anyCancelled reports whether a subtask was cancelled after it started.
// It reads the states by index: it is inlined into schedule, whose frame
// a streaming request holds, and a copy of each would take its size there.
func (ru *run) anyCancelled() bool {
	for i := range ru.states {
		if st := &ru.states[i]; st.Status == task.StatusCancelled && st.Attempts > 0 {
			return true
		}
	}
	return false
}

// start runs a ready subtask on a goroutine of its own.
func (ru *run) start(ctx context.Context, i int) {
	ru.states[i].Status = task.StatusRunning
	var f finished
	var in task.Subtask
	f.i = i
	ru.prepare(i, &in, &f.state)
	go ru.runApart(ctx, in, f)
}

// runApart runs a prepared subtask, on a goroutine of its own, and
// reports its end, f with the state it ended in, on ru.done.
func (ru *run) runApart(ctx context.Context, s task.Subtask, f finished) {
	ru.runSubtask(ctx, &s, &f.state)
	ru.done <- f
}

// runNow runs a ready subtask on the calling goroutine.
func (ru *run) runNow(ctx context.Context, i int) {
	var s task.Subtask
	var st task.SubtaskState
	ru.prepare(i, &s, &st)
	ru.runSubtask(ctx, &s, &st)
	ru.states[i] = st
}

// prepare writes into in and st subtask i, with the outputs of its
// dependencies substituted, and its state, running. It reads the run's
// state, so only the scheduling goroutine calls it.
func (ru *run) prepare(i int, in *task.Subtask, st *task.SubtaskState) {
	s := &ru.plan.Tasks[i]
	*in, *st = *s, ru.states[i]
	st.Status = task.StatusRunning
	st.StartedAt = time.Now()
	if s.Capability == mergeCapability {
		ru.noteMergeInputs(i)
	}
	if len(s.Deps) == 0 && len(ru.attachments) == 0 {
		return // nothing to substitute
	}
	values, reads := ru.substitutions(*s)
	if reads != nil {
		ru.grow.Lock()
		ru.reads[i] = reads
		ru.grow.Unlock()
	}
	in.Input = task.Substitute(s.Input, values)
	if len(s.Args) > 0 {
		in.Args = make(map[string]string, len(s.Args))
		for k, v := range s.Args {
			in.Args[k] = task.Substitute(v, values)
		}
	}
}

// emitter returns where a run's events go: the router's observer, the
// subjects to publish them on, onEvent; nil when nowhere.
func (r *Router) emitter(to []string, onEvent func(task.Event), observe bool) func(task.Event) {
	var observer func(task.Event)
	if observe {
		observer = r.cfg.Observe
	}
	if observer == nil && len(to) == 0 {
		return onEvent
	}
	return func(ev task.Event) {
		if observer != nil {
			observer(ev)
		}
		if len(to) > 0 && (ev.Type != task.EventProgress || ev.Text != "" || ev.Progress != nil) {
			r.publishEvent(ev, to) // a chunk without text says nothing to a live view
		}
		if onEvent != nil {
			onEvent(ev)
		}
	}
}

// observed reports whether anyone gets the run's events; callers check
// it before building an event that costs an allocation.
func (ru *run) observed() bool { return ru.emit != nil }

// finish emits the finished event: the answer, the usage of the whole
// request, and its error, if any.
func (ru *run) finish(resp *task.Response) {
	if !ru.observed() {
		return
	}
	ru.emitEvent(task.Event{Type: task.EventFinished, Ingress: ru.req.Ingress, Model: resp.Model, Text: resp.Merge,
		Output: &task.Output{Text: resp.Answer, Usage: resp.Usage, FinishReason: resp.FinishReason}, Error: resp.Error})
}

// noteProduced records the artifacts a finished subtask made, for the
// steps that read them.
func (ru *run) noteProduced(st task.SubtaskState) {
	if len(st.Artifacts) == 0 {
		return
	}
	if ru.produced == nil {
		ru.produced = map[string][]task.ArtifactRef{}
	}
	ru.produced[st.ID] = st.Artifacts
}

// readsOf returns the artifacts subtask id reads.
func (ru *run) readsOf(id string) []task.ArtifactRef {
	ru.grow.RLock()
	defer ru.grow.RUnlock()
	if i, ok := ru.index[id]; ok && ru.reads != nil {
		return ru.reads[i]
	}
	return nil
}

func (ru *run) emitEvent(ev task.Event) {
	if ru.emit == nil {
		return // nobody listens: skip building the event
	}
	clipEvent(&ev)
	ev.RequestID = ru.req.ID
	if ev.Capability == "" {
		ev.Capability = ru.capabilityOf(ev.SubtaskID)
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	ev.ElapsedMs = ev.Time.Sub(ru.started).Milliseconds()
	ru.emitMu.Lock()
	defer ru.emitMu.Unlock()
	ru.emit(ev)
}

// clipEvent cuts the texts an event carries to task.MaxEventText each.
func clipEvent(ev *task.Event) {
	var cut bool
	ev.Input, cut = task.ClipText(ev.Input, task.MaxEventText)
	ev.Clipped = ev.Clipped || cut
	if ev.Output != nil && len(ev.Output.Text) > task.MaxEventText {
		out := *ev.Output
		out.Text, _ = task.ClipText(out.Text, task.MaxEventText)
		ev.Output, ev.Clipped = &out, true
	}
	if ev.Plan != nil {
		p, cut := ev.Plan.Clipped(task.MaxEventText)
		ev.Plan, ev.Clipped = &p, ev.Clipped || cut
	}
}

// capabilityOf is the capability of the plan's subtask id, "" for none.
func (ru *run) capabilityOf(id string) string {
	ru.grow.RLock()
	defer ru.grow.RUnlock()
	if i, ok := ru.index[id]; ok {
		return ru.plan.Tasks[i].Capability
	}
	return ""
}
