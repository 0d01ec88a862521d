package console

import (
	"maps"
	"slices"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// Summary is one request in the console's list.
type Summary struct {
	ID      string `json:"id"`
	Ingress string `json:"ingress,omitempty"`
	// Remote marks a request another router ran, seen on tr.v1.events.
	Remote bool `json:"remote,omitempty"`
	// Status is running, done, failed or cancelled.
	Status    string    `json:"status"`
	Input     string    `json:"input"` // its first characters
	StartedAt time.Time `json:"started_at"`
	// DurationMs is how long it took, or has run so far.
	DurationMs float64 `json:"duration_ms"`
	CostUSD    float64 `json:"cost_usd"`
	Subtasks   int     `json:"subtasks"`
	Done       int     `json:"done"`
	// Error is the code of its error, if any.
	Error string `json:"error,omitempty"`
	// Seq grows at every change of the request.
	Seq uint64 `json:"seq"`
}

// Request is one request with everything the console draws. Times of
// its steps are milliseconds since StartedAt, on the clock of the router
// that ran it.
type Request struct {
	ID         string    `json:"id"`
	Ingress    string    `json:"ingress,omitempty"`
	Remote     bool      `json:"remote,omitempty"`
	Status     string    `json:"status"`
	Input      string    `json:"input"`
	StartedAt  time.Time `json:"started_at"`
	EndedAt    time.Time `json:"ended_at,omitzero"`
	DurationMs float64   `json:"duration_ms"`
	// PlanMs is when the plan was ready; null before.
	PlanMs  *float64    `json:"plan_ms"`
	Planner string      `json:"planner,omitempty"`
	Answer  string      `json:"answer,omitempty"`
	Merge   string      `json:"merge,omitempty"`
	Model   string      `json:"model,omitempty"`
	CostUSD float64     `json:"cost_usd"`
	Usage   task.Usage  `json:"usage"`
	Error   *task.Error `json:"error,omitempty"`
	// Clipped says texts were cut to task.MaxEventText bytes.
	Clipped bool      `json:"clipped,omitempty"`
	Steps   []Subtask `json:"steps"`
	Seq     uint64    `json:"seq"`
}

// Subtask is one step of a request: its place in the plan, what it was
// given and answered, and its attempts.
type Subtask struct {
	ID         string            `json:"id"`
	Capability string            `json:"capability,omitempty"`
	Deps       []string          `json:"deps"`
	Args       map[string]string `json:"args,omitempty"`
	Status     string            `json:"status"`
	Model      string            `json:"model,omitempty"`
	Executor   string            `json:"executor,omitempty"`
	Input      string            `json:"input"`
	Output     string            `json:"output"`
	Format     string            `json:"format,omitempty"`
	Usage      task.Usage        `json:"usage"`
	Error      *task.Error       `json:"error,omitempty"`
	Attempts   []Attempt         `json:"attempts"`
}

// Attempt is one dispatch of a step, in milliseconds since the request
// started: queued from dispatched to accepted, running from accepted to
// ended. AcceptedMs and EndedMs are null until then.
type Attempt struct {
	Attempt      int         `json:"attempt"`
	Model        string      `json:"model,omitempty"`
	Executor     string      `json:"executor,omitempty"`
	Status       string      `json:"status"`
	DispatchedMs float64     `json:"dispatched_ms"`
	AcceptedMs   *float64    `json:"accepted_ms"`
	EndedMs      *float64    `json:"ended_ms"`
	Error        *task.Error `json:"error,omitempty"`
}

func (r *record) summary(now time.Time) Summary {
	s := Summary{ID: r.id, Ingress: r.ingress, Remote: r.remote, Status: r.status, StartedAt: r.started,
		CostUSD: r.cost(), Subtasks: len(r.subtasks), Seq: r.seq}
	s.Input, _ = task.ClipText(r.input, summaryText)
	end := r.ended
	if end.IsZero() {
		end = now
	}
	s.DurationMs = ms(end.Sub(r.started))
	for _, st := range r.subtasks {
		if st.status == statusDone {
			s.Done++
		}
	}
	if r.err != nil {
		s.Error = string(r.err.Code)
	}
	return s
}

func (r *record) view(now time.Time) Request {
	sum := r.summary(now)
	v := Request{ID: r.id, Ingress: r.ingress, Remote: r.remote, Status: r.status, Input: r.input, StartedAt: r.started,
		EndedAt: r.ended, DurationMs: sum.DurationMs, PlanMs: r.since(r.planned), Planner: r.planner, Answer: r.answer,
		Merge: r.merge, Model: r.model, CostUSD: sum.CostUSD, Usage: r.usage, Error: r.err, Clipped: r.clipped,
		Steps: make([]Subtask, 0, len(r.subtasks)), Seq: r.seq}
	for _, s := range r.subtasks {
		v.Steps = append(v.Steps, r.stepView(s))
	}
	return v
}

func (r *record) stepView(s *subtask) Subtask {
	v := Subtask{ID: s.id, Capability: s.capability, Deps: slices.Clone(s.deps), Args: maps.Clone(s.args), Status: s.status,
		Model: s.model, Executor: s.executor, Input: s.input, Output: s.output + string(s.streamed), Format: s.format, Usage: s.usage, Error: s.err,
		Attempts: make([]Attempt, 0, len(s.attempts))}
	for _, a := range s.attempts {
		v.Attempts = append(v.Attempts, Attempt{Attempt: a.n, Model: a.model, Executor: a.executor, Status: a.status,
			DispatchedMs: ms(a.dispatched.Sub(r.started)), AcceptedMs: r.since(a.accepted), EndedMs: r.since(a.ended), Error: a.err})
	}
	return v
}

// since is t in milliseconds since the request started; nil for a zero t.
func (r *record) since(t time.Time) *float64 {
	if t.IsZero() {
		return nil
	}
	v := ms(t.Sub(r.started))
	return &v
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
