package registry

import (
	"context"
	"fmt"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// Memory is the registry of one process. It is safe for concurrent use.
type Memory struct {
	t   *table
	opt Options
}

var _ Registry = (*Memory)(nil)

// NewMemory returns an empty in-memory registry. It panics when the options
// are invalid, as a programming error: validate configuration first with
// Options.Validate.
func NewMemory(opts ...Option) *Memory {
	o, err := buildOptions(opts)
	if err != nil {
		panic(err)
	}
	m := &Memory{opt: o}
	m.t = newTable(&m.opt)
	return m
}

// Announce stores or replaces a model spec. It returns a *task.Error with
// CodeInvalidRequest when the spec has no name.
func (m *Memory) Announce(ctx context.Context, spec task.ModelSpec) error {
	if err := checkSpec(spec); err != nil {
		return err
	}
	m.t.announce(spec)
	return nil
}

// Withdraw removes a model's spec; an unknown model is no error.
func (m *Memory) Withdraw(ctx context.Context, model string) error {
	m.t.withdraw(model)
	return nil
}

// Heartbeat registers or refreshes a replica until now+ttl; ttl <= 0 means
// Options.HeartbeatTTL. It sets the replica's SeenAt.
func (m *Memory) Heartbeat(ctx context.Context, r Replica, ttl time.Duration) error {
	if err := checkReplica(r); err != nil {
		return err
	}
	m.t.heartbeat(r, cmpTTL(ttl, m.opt.HeartbeatTTL), m.opt.Now())
	return nil
}

// Deregister removes a replica at once; an unknown replica is no error.
func (m *Memory) Deregister(ctx context.Context, model, replicaID string) error {
	m.t.deregister(model, replicaID)
	return nil
}

// Select chooses a model for q and orders up to Options.MaxFallbacks
// fallbacks; it never waits. Candidates have the capability, a live
// replica, a window that fits q.Tokens, an estimated cost within
// q.Hints.MaxCostUSD, and a circuit breaker that admits a dispatch. With
// q.Hints.Model set, the candidates are that model and the fallbacks its
// spec lists, in that order, and no other; otherwise local models come
// first when PreferLocal, then the policy's score, then the less loaded,
// then the name. The errors are those of Selector, CodeInvalidRequest for
// an unknown policy hint, or the context's error.
func (m *Memory) Select(ctx context.Context, q Query) (Selection, error) {
	if err := ctx.Err(); err != nil {
		return Selection{}, fmt.Errorf("selecting a model: %w", err)
	}
	return m.t.selectModel(q, m.opt.Now())
}

// Spec returns an announced model's spec.
func (m *Memory) Spec(name string) (task.ModelSpec, bool) { return m.t.spec(name) }

// LiveReplicas counts the model's live replicas, without I/O.
func (m *Memory) LiveReplicas(model string) int { return m.t.liveReplicas(model, m.opt.Now()) }

// Started admits a dispatch to model and counts it in flight; see
// Observer.Started.
func (m *Memory) Started(model string) error { return m.t.started(model, m.opt.Now()) }

// Finished ends a dispatch counted by Started and records its outcome.
func (m *Memory) Finished(ctx context.Context, model string, o Outcome) {
	m.t.finished(model, o, m.opt.Now())
}

// Models lists every announced model, sorted by name.
func (m *Memory) Models(ctx context.Context) ([]ModelState, error) {
	return m.t.list(m.opt.Now()), nil
}

// Close does nothing; Memory holds no resources.
func (m *Memory) Close() error { return nil }

func checkSpec(spec task.ModelSpec) error {
	if spec.Name == "" {
		return task.Errorf(task.CodeInvalidRequest, "announcing a model: the spec has no name; give every model a name")
	}
	return nil
}

func checkReplica(r Replica) error {
	if r.Model == "" || r.ID == "" {
		return task.Errorf(task.CodeInvalidRequest, "heartbeat for replica %q of model %q: both the model and the replica id are required", r.ID, r.Model)
	}
	return nil
}

func cmpTTL(ttl, def time.Duration) time.Duration {
	if ttl <= 0 {
		return def
	}
	return ttl
}
