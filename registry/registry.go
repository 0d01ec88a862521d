// Package registry knows which models exist, which replicas of them are live,
// how loaded and healthy they are, and selects a model for a subtask.
// Backends: memory (one process) and Redis (shared by many routers).
package registry

import (
	"context"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// Replica is one executor serving one model.
type Replica struct {
	Model string `json:"model"`
	// ID identifies the executor process; unique per model.
	ID   string `json:"id"`
	Host string `json:"host,omitempty"`
	// InFlight is how many subtasks the replica is working on or queueing.
	InFlight int `json:"in_flight"`
	// Capacity is how many subtasks the replica runs at once.
	Capacity int       `json:"capacity"`
	SeenAt   time.Time `json:"seen_at"`
}

// Announcer is what executors use: publish their model specs and keep their
// replicas alive with heartbeats.
type Announcer interface {
	// Announce stores or replaces a model spec.
	Announce(ctx context.Context, spec task.ModelSpec) error
	// Heartbeat registers or refreshes a replica; it disappears when no
	// heartbeat arrives within ttl.
	Heartbeat(ctx context.Context, r Replica, ttl time.Duration) error
	// Deregister removes a replica at once, as on a graceful drain.
	Deregister(ctx context.Context, model, replicaID string) error
}

// Withdrawer removes models that come and go with whatever lists them,
// such as a provider's discovered models.
type Withdrawer interface {
	// Withdraw removes a model's spec, so that it is selected no more and
	// leaves the list; its counters stay, should it come back. Replicas are
	// not touched: the executors serving it deregister as they drain. A
	// heartbeat through a registry that announced the spec after the
	// withdrawal stores it again. An unknown model is no error.
	Withdraw(ctx context.Context, model string) error
}

// Query asks for a model for one subtask.
type Query struct {
	Capability string
	// Tokens is the estimated size of the input; the model's window must fit
	// it plus the model's output limit.
	Tokens int
	Hints  task.Hints
}

// Selection is the chosen model and the ordered fallbacks after it.
type Selection struct {
	Model     task.ModelSpec
	Fallbacks []task.ModelSpec
}

// Candidates returns Model followed by Fallbacks.
func (s Selection) Candidates() []task.ModelSpec {
	return append([]task.ModelSpec{s.Model}, s.Fallbacks...)
}

// Selector chooses models. Select never waits: when nothing can serve it
// fails at once with a *task.Error saying why. Its codes:
//
//   - task.CodeNoModel: no model offers the capability, or none of those
//     that do can take the input (context window, max_cost); retrying does
//     not help.
//   - task.CodeModelUnavailable: models that could serve exist, but each
//     is cooling down (circuit open, or its half-open probe in flight) or
//     has no live replica; RetryAfterMs says when to try again.
//   - task.CodeModelNotFound, task.CodeModelLacksCapability: the query
//     names a model (Hints.Model) that is not registered, or that does not
//     offer the capability.
//   - task.CodeContextLength: the named model and its fallbacks all have
//     too small a window for the input.
type Selector interface {
	Select(ctx context.Context, q Query) (Selection, error)
}

// SpecLookup finds the spec of one announced model, without I/O: cheap
// enough for every request that names a model.
type SpecLookup interface {
	Spec(name string) (task.ModelSpec, bool)
}

// Outcome is the result of one dispatch to a model, reported by the router.
type Outcome struct {
	OK      bool
	Latency time.Duration
	// Replica is the executor that took the dispatch, when one did; the
	// circuit breaker's log lines name it.
	Replica string
	// Code and Message are the error's when not OK.
	Code    task.Code
	Message string
	// RetryAfter is the upstream's requested wait, for rate limits.
	RetryAfter time.Duration
	// Usage is the tokens and cost of a successful dispatch.
	Usage task.Usage
}

// Observer takes what the router learns from each dispatch: load, latency,
// failures. It drives load balancing and each model's circuit breaker.
type Observer interface {
	// Started asks to dispatch to a model and counts the dispatch in flight.
	// It returns a *task.Error with task.CodeModelUnavailable, and counts
	// nothing, when the model's circuit breaker refuses: open, or half-open
	// with its one probe already in flight. It must be cheap.
	Started(model string) error
	// Finished ends a dispatch counted by Started and records its outcome.
	Finished(ctx context.Context, model string, o Outcome)
}

// ModelState is a model as `taskrouter models` shows it.
type ModelState struct {
	Spec     task.ModelSpec `json:"spec"`
	Replicas []Replica      `json:"replicas"`
	// InFlight is the router's own count plus what replicas report.
	InFlight       int       `json:"in_flight"`
	LatencyEWMAms  float64   `json:"latency_ewma_ms"`
	Errors         int       `json:"errors"`
	ConsecutiveErr int       `json:"consecutive_errors"`
	CooldownUntil  time.Time `json:"cooldown_until,omitzero"`
	// State is "ready", "cooldown" (circuit open), "half-open" (the
	// cooldown is over; the next dispatch probes the model) or "down" (no
	// live replica).
	State string `json:"state"`
	// Circuit is the state of the model's circuit breaker in this router:
	// CircuitClosed, CircuitOpen or CircuitHalfOpen, whatever its replicas.
	Circuit string `json:"circuit"`
	// Dispatching is how many dispatches of this router to the model are
	// in flight now (between Started and Finished).
	Dispatching int `json:"dispatching"`
	// Usage is the tokens and cost of this router's successful dispatches
	// to the model since it started.
	Usage task.Usage `json:"usage"`
}

// The states of ModelState.Circuit, as metrics name them.
const (
	CircuitClosed   = "closed"
	CircuitOpen     = "open"
	CircuitHalfOpen = "half_open"
)

// Lister lists every known model with its live state. When the list could
// not be refreshed from a shared store, Models returns the last one it has
// with a *StaleError.
type Lister interface {
	Models(ctx context.Context) ([]ModelState, error)
}

// Registry is the whole contract a backend implements.
type Registry interface {
	Announcer
	Withdrawer
	Selector
	SpecLookup
	Observer
	Lister
	Close() error
}
