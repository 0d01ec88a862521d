// Package jobs runs requests in the background: a job is accepted at once,
// queued with bounded concurrency, run by the router, stored where any
// router on the same NATS can read it, followed live through a feed, and
// its result delivered to a callback URL as a signed Standard Webhook.
package jobs

import (
	"maps"
	"slices"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// Status is where a job is in its life.
type Status string

// The job states. Done, failed and cancelled are final.
const (
	StatusQueued    Status = "queued"
	StatusRunning   Status = "running"
	StatusDone      Status = "done"
	StatusFailed    Status = "failed"
	StatusCancelled Status = "cancelled"
)

// Final reports whether a job in this state will not change any more
// (its callback may still be delivered).
func (s Status) Final() bool {
	return s == StatusDone || s == StatusFailed || s == StatusCancelled
}

// Job is one background request and everything known about it.
type Job struct {
	ID     string `json:"id"`
	Object string `json:"object"` // always "job"
	Status Status `json:"status"`
	// Model is what the caller asked for: "taskrouter" or a model name.
	Model string `json:"model"`
	// Source is "api", or "webhook:<name>" for jobs a webhook created.
	Source string `json:"source"`
	// Owner identifies the API key that created the job (a hash, never the
	// key); only that key may read or cancel it. Empty for open access.
	Owner    string `json:"owner,omitempty"`
	Instance string `json:"instance,omitempty"` // the router that runs it
	// Lease names the lease of the router process that owns the job: while
	// that router renews it, no other takes the job over.
	Lease string `json:"lease,omitempty"`
	// LeaseExpires is when the lease runs out unless renewed, by the
	// owner's clock; for people. Other routers judge a lease lost by how
	// long the job has gone unwritten by their own clocks.
	LeaseExpires time.Time `json:"lease_expires,omitzero"`
	// Takeovers counts how often another router took the job over after
	// its owner was lost, running it again from the start.
	Takeovers int       `json:"takeovers,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	StartedAt time.Time `json:"started_at,omitzero"`
	EndedAt   time.Time `json:"ended_at,omitzero"`

	Request  task.Request        `json:"request"`
	Plan     *task.Plan          `json:"plan,omitempty"`
	Subtasks []task.SubtaskState `json:"subtasks"`
	Answer   string              `json:"answer,omitempty"`
	// Artifacts are the images, audio and files the job produced; their
	// bytes are at GET /v1/files/{id}/content.
	Artifacts []task.ArtifactRef `json:"artifacts,omitempty"`
	Merge     string             `json:"merge,omitempty"`
	Usage     task.Usage         `json:"usage"`
	Error     *task.Error        `json:"error,omitempty"`

	Callback *Callback `json:"callback,omitempty"`
	// Result, for a durable request's job, is where its Response goes on
	// JetStream and whether it went.
	Result   *Result           `json:"result,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
	// Omitted names what was left out of the job because it was larger
	// than the job store takes: "subtasks.output", "plan", "answer".
	Omitted []string `json:"omitted,omitempty"`
	// Traceparent is the W3C trace context of the request that created
	// the job, so that its run joins that request's trace.
	Traceparent string `json:"traceparent,omitempty"`

	// rev is the store revision this copy was read or last written at;
	// the owner's writes are conditional on it.
	rev uint64
}

// Delivery states of a callback.
const (
	DeliveryPending   = "pending"   // not yet delivered; more attempts follow
	DeliveryDelivered = "delivered" // a 2xx answer came back
	DeliveryFailed    = "failed"    // attempts exhausted, or the receiver said 410 Gone
)

// Callback is where a job's result goes and how its delivery is going.
type Callback struct {
	URL           string    `json:"url"`
	State         string    `json:"state"`
	Attempts      int       `json:"attempts"`
	LastStatus    int       `json:"last_status,omitempty"`
	LastError     string    `json:"last_error,omitempty"`
	DeliveredAt   time.Time `json:"delivered_at,omitzero"`
	NextAttemptAt time.Time `json:"next_attempt_at,omitzero"`
}

// Spec is what a caller submits.
type Spec struct {
	// ID, when set, is the job's id (see ValidID); Submit returns
	// ErrExists when it is taken. Empty makes a new one.
	ID string
	// Request is run as given; its ID is replaced by the job's.
	Request     task.Request
	Model       string
	Source      string
	Owner       string
	CallbackURL string
	// ResultSubject, when set, is where the job's Response is published
	// once it ends (Config.Results); a durable request's.
	ResultSubject string
	// Fail, when set, ends the job at once with this error, without
	// running it: a durable request that could not be read is answered
	// with its job failed.
	Fail     *task.Error
	Metadata map[string]string
	// Traceparent is the creating request's trace context, if traced.
	Traceparent string
}

// Update is one message of a job's feed: its new state, or a progress
// event of its request.
type Update struct {
	Job   *Job        `json:"job,omitempty"`
	Event *task.Event `json:"event,omitempty"`
}

// settled reports whether nothing is left to do for the job: it has
// ended, its callback, if any, is no longer pending, and its result, if
// any, is published.
func (j *Job) settled() bool {
	return j.Status.Final() && (j.Callback == nil || j.Callback.State != DeliveryPending) &&
		(j.Result == nil || j.Result.State != DeliveryPending)
}

// Settled reports whether nothing is left to do for the job: it has
// ended, and its callback and its result are no longer pending.
func (j Job) Settled() bool { return j.settled() }

// Response is the job's outcome in the form of a tr.v1.req answer: the
// job's id, answer, plan, subtasks, merge, usage and error, and, for a
// one-step plan, the step's model, tool calls and finish reason. (A job
// keeps no upstream response body.)
func (j Job) Response() task.Response {
	r := task.Response{ID: j.ID, Answer: j.Answer, Plan: j.Plan, Subtasks: j.Subtasks, Merge: j.Merge, Usage: j.Usage, Error: j.Error}
	if r.Subtasks == nil {
		r.Subtasks = []task.SubtaskState{}
	}
	if len(j.Subtasks) == 1 {
		st := j.Subtasks[0]
		r.Model, r.ToolCalls, r.FinishReason = st.Model, st.ToolCalls, st.FinishReason
	}
	return r
}

// shrink leaves out the next part of a job that is too large for the
// store (cause says by how much), largest duplicates first: the subtasks'
// outputs, which the answer is made of, then the plan, whose inputs repeat
// the request; last, for an ended job, the answer, which fails the job
// with a too_large error rather than leave it unstored and running. It
// reports false when nothing is left to leave out.
func (j *Job) shrink(cause error) bool {
	omit := func(what string) {
		if !slices.Contains(j.Omitted, what) {
			j.Omitted = append(j.Omitted, what)
		}
	}
	switch {
	case slices.ContainsFunc(j.Subtasks, func(st task.SubtaskState) bool { return st.Output != "" }):
		for i := range j.Subtasks {
			j.Subtasks[i].Output = ""
		}
		omit("subtasks.output")
	case j.Plan != nil:
		j.Plan = nil
		omit("plan")
	case j.Status.Final() && j.Answer != "":
		j.Answer = ""
		omit("answer")
		j.Status = StatusFailed
		j.Error = task.Errorf(task.CodeTooLarge, "the answer is too large for the job store (%v); ask for a shorter answer, "+
			"use /v1/chat/completions, which streams it, or raise the NATS server's max_payload", cause)
	default:
		return false
	}
	return true
}

// clone returns a copy that shares nothing the job's owner goes on to change.
func (j Job) clone() Job {
	j.Subtasks = slices.Clone(j.Subtasks)
	j.Metadata = maps.Clone(j.Metadata)
	if j.Callback != nil {
		c := *j.Callback
		j.Callback = &c
	}
	if j.Result != nil {
		r := *j.Result
		j.Result = &r
	}
	return j
}
