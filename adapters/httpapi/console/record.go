package console

import (
	"sync"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// Bounds on what one request may hold, whatever its events say: a remote
// router's events are outside input.
const (
	maxSubtasks = 96 // a plan's 64, the merge step, and room for odd ones
	maxAttempts = 16 // per subtask
	maxArgs     = 16 // per subtask
	maxDeps     = 64 // per subtask
	summaryText = 160
	// overhead is what a subtask or an attempt costs besides its texts,
	// roughly, for the byte budget.
	overhead = 256
)

// The states of a request and of its subtasks' attempts, as the console
// shows them.
const (
	statusRunning   = "running"
	statusPending   = "pending"
	statusQueued    = "queued" // dispatched, not yet accepted
	statusDone      = "done"
	statusFailed    = "failed"
	statusCancelled = "cancelled"
	statusRetried   = "retried"
)

// record is one request as the events have told it so far. The
// recorder's lock guards it, but for the text its steps stream, which
// events of a running request add under the recorder's read lock and mu.
type record struct {
	mu       sync.Mutex
	id       string
	ingress  string
	remote   bool
	status   string
	started  time.Time // the request's arrival
	planned  time.Time // when its plan was ready; zero before
	ended    time.Time // zero while it runs
	planner  string
	input    string
	answer   string
	merge    string
	model    string
	usage    task.Usage
	err      *task.Error
	clipped  bool
	subtasks []*subtask
	index    map[string]int
	seq      uint64 // bumped at every change
	bytes    int    // roughly what the record holds, for the byte budget
}

// subtask is one step of a request, a subtask of its plan or a step the
// router added (the model-written merge).
type subtask struct {
	id         string
	capability string
	deps       []string
	args       map[string]string
	status     string
	model      string
	executor   string
	input      string
	output     string
	streamed   []byte // text the attempt has streamed, until its output
	format     string
	usage      task.Usage
	err        *task.Error
	attempts   []attempt
}

// attempt is one dispatch of a subtask.
type attempt struct {
	n          int
	model      string
	executor   string
	dispatched time.Time
	accepted   time.Time
	ended      time.Time
	status     string
	err        *task.Error
}

func newRecord(id string, remote bool, at time.Time) *record {
	return &record{id: id, remote: remote, status: statusRunning, started: at, index: map[string]int{}, bytes: overhead}
}

// clip bounds a text the record keeps, noting when it cut one.
func (r *record) clip(s string) string {
	s, cut := task.ClipText(s, task.MaxEventText)
	r.clipped = r.clipped || cut
	r.bytes += len(s)
	return s
}

// step returns the subtask with the id, adding it when the plan did not
// have it (the merge step) and there is room; nil otherwise.
func (r *record) step(id string) *subtask {
	if i, ok := r.index[id]; ok {
		return r.subtasks[i]
	}
	if id == "" || len(r.subtasks) >= maxSubtasks {
		return nil
	}
	s := &subtask{id: r.clip(id), status: statusPending, deps: []string{}}
	if id == mergeStep {
		s.deps = r.sinks()
	}
	r.index[s.id] = len(r.subtasks)
	r.subtasks = append(r.subtasks, s)
	r.bytes += overhead
	return s
}

// mergeStep is the id of the router's model-written merge step.
const mergeStep = "merge"

// sinks are the plan's subtasks nothing depends on: what a merge reads.
func (r *record) sinks() []string {
	used := map[string]bool{}
	for _, s := range r.subtasks {
		for _, d := range s.deps {
			used[d] = true
		}
	}
	out := []string{}
	for _, s := range r.subtasks {
		if !used[s.id] && s.id != mergeStep {
			out = append(out, s.id)
		}
	}
	return out
}

// plan sets the request's subtasks from its plan, once.
func (r *record) plan(p *task.Plan) {
	if p == nil || len(r.subtasks) > 0 {
		return
	}
	r.planner = r.clip(p.Planner)
	for _, t := range p.Tasks {
		s := r.step(t.ID)
		if s == nil {
			r.clipped = true
			return
		}
		s.capability = r.clip(t.Capability)
		s.input = r.clip(t.Input)
		s.deps = r.clipDeps(t.Deps)
		s.args = r.clipArgs(t.Args)
	}
}

func (r *record) clipDeps(deps []string) []string {
	out := make([]string, 0, min(len(deps), maxDeps))
	for i, d := range deps {
		if i == maxDeps {
			r.clipped = true
			break
		}
		out = append(out, r.clip(d))
	}
	return out
}

func (r *record) clipArgs(args map[string]string) map[string]string {
	if len(args) == 0 {
		return nil
	}
	out := make(map[string]string, min(len(args), maxArgs))
	for k, v := range args {
		if len(out) == maxArgs {
			r.clipped = true
			break
		}
		out[r.clip(k)] = r.clip(v)
	}
	return out
}

// try returns attempt n of s, adding it (and any before it that the
// events skipped) when there is room; nil otherwise.
func (r *record) try(s *subtask, n int, at time.Time) *attempt {
	if n < 1 || n > maxAttempts {
		return nil
	}
	for len(s.attempts) < n {
		s.attempts = append(s.attempts, attempt{n: len(s.attempts) + 1, dispatched: at, status: statusQueued})
		r.bytes += overhead
	}
	return &s.attempts[n-1]
}

// open returns the last attempt of s while it has not ended.
func (s *subtask) open() *attempt {
	if len(s.attempts) == 0 || !s.attempts[len(s.attempts)-1].ended.IsZero() {
		return nil
	}
	return &s.attempts[len(s.attempts)-1]
}

// end closes the open attempt of s, if any, with a status and an error.
func (s *subtask) end(at time.Time, status string, err *task.Error) {
	if a := s.open(); a != nil {
		a.ended, a.status, a.err = at, status, err
	}
}

// cost is what the request has cost so far: the total once it finished,
// else the sum of its finished steps.
func (r *record) cost() float64 {
	if !r.ended.IsZero() {
		return r.usage.CostUSD
	}
	c := 0.0
	for _, s := range r.subtasks {
		c += s.usage.CostUSD
	}
	return c
}
