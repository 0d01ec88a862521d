// Package router runs plans: it dispatches every ready subtask over NATS to
// the model the registry selects, retries and falls back on failure, cancels
// at the executors, and merges the results into one answer.
package router

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/trace"

	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/memory"
	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/task"
	"github.com/taskrouter/taskrouter/telemetry"
)

// Planner turns a request into a plan.
type Planner interface {
	Plan(ctx context.Context, req task.Request) (task.Plan, error)
}

// Selector is what the router needs from the registry: selection, the
// spec of a model a request names, and a place to report how each
// dispatch went.
type Selector interface {
	registry.Selector
	registry.SpecLookup
	registry.Observer
}

// Merger composes the answer from the results of a finished plan.
type Merger interface {
	Merge(ctx context.Context, in MergeInput) (answer string, how string, err error)
}

// Config tunes the router. Zero values take the defaults in brackets.
type Config struct {
	Limits task.Limits
	// Catalog names the capabilities a plan may use and titles merged
	// sections; nil accepts any capability.
	Catalog *task.Catalog
	// Catalogs, when set, gives the catalog as of now instead of Catalog:
	// one that changes while the router runs, as executors serving tools
	// come and go (registry.LiveCatalog's Current).
	Catalogs func() *task.Catalog
	// Attempts is how many times a subtask is tried in all (3).
	Attempts int
	// SubtaskTimeout bounds one subtask over all its attempts (2m).
	SubtaskTimeout time.Duration
	// RequestTimeout bounds a whole request unless it asks for less (5m).
	RequestTimeout time.Duration
	// AcceptTimeout is how long a dispatch waits for "accepted" before the
	// next attempt goes elsewhere (1s).
	AcceptTimeout time.Duration
	// LostAfter is how long an accepted subtask may stay silent before its
	// executor is taken for dead (3s; executors keep alive every 500ms).
	LostAfter time.Duration
	// MaxRounds bounds the rounds of planning of a request the router
	// plans: the first plan, and each one more its planner (a Replanner)
	// is asked for after a round that declared it may need one or had a
	// step fail for good (2; 1 never asks again).
	MaxRounds int
	// Merger, when set, writes every answer of a plan with several results
	// instead of the built-in choice: a model with capability merge (else
	// chat) when one is live, the template merge otherwise.
	Merger Merger
	// DisableModelMerge keeps the template merge even when a merge model is live.
	DisableModelMerge bool
	// AllEvents publishes the progress events of every request on
	// tr.v1.events.<id>; otherwise only requests that set Events are
	// published, which saves five NATS messages per subtask.
	AllEvents bool
	// Version is this router's version in NATS's service discovery.
	Version string
	Logger  *slog.Logger
	// Metrics, when set, receives what the router measures; nil measures
	// nothing. One that implements MemoryMetrics counts memory and the
	// answer cache too.
	Metrics Metrics
	// Memory, when set, keeps the conversations requests name: their
	// turns, summaries and recalled turns become the requests' context.
	// Without it a request naming a conversation is refused.
	Memory Memory
	// Cache, when set, keeps the answers of deterministic steps (built-in
	// models; remote models at temperature 0 or with a seed), so that the
	// same step is answered without a dispatch.
	Cache memory.Cache
	// Tracer, when set, records a span for planning and one for every
	// attempt of a subtask, whose trace context travels in the dispatched
	// work, as children of the span in the request's context (the
	// ingress's); nil traces nothing.
	Tracer trace.Tracer
	// Observe, when set, gets the progress events of every request the
	// router handles or runs (not Generate's), asked for or not, ending
	// with its finished event, with texts cut to task.MaxEventText. It is
	// called on the goroutines that make the events, one at a time per
	// request, before they are published, and must return quickly.
	// Unlike publishing, it does not make executors stream their text.
	Observe func(task.Event)
	// Artifacts stores the requests' attachments and finds the artifacts
	// they name; nil refuses requests with attachments.
	Artifacts ArtifactStore
}

// Router runs plans over NATS. It is safe for concurrent use.
type Router struct {
	cfg     Config
	nc      *nats.Conn
	sel     Selector
	planner Planner
	inbox   *inbox
	// stats counts the requests served on tr.v1.req, for $SRV.STATS.
	stats *bus.Endpoint

	// cacheUp pauses the answer cache after it fails.
	cacheUp cacheHealth

	closeOnce sync.Once
	serving   sync.WaitGroup
	// spans ends attempt spans off the request's path.
	spans *telemetry.Ender
}

// New returns a router that dispatches over nc. The planner may be nil when
// every request carries its own plan.
func New(nc *nats.Conn, sel Selector, planner Planner, cfg Config) (*Router, error) {
	if nc == nil || sel == nil {
		return nil, errors.New("router: a NATS connection and a selector are required")
	}
	cfg = cfg.withDefaults()
	in, err := newInbox(nc)
	if err != nil {
		return nil, err
	}
	r := &Router{cfg: cfg, nc: nc, sel: sel, planner: planner, inbox: in, spans: telemetry.NewEnder(telemetry.EndDelay)}
	r.withEmbedder()
	return r, nil
}

func (c Config) withDefaults() Config {
	if c.Attempts <= 0 {
		c.Attempts = 3
	}
	if c.SubtaskTimeout <= 0 {
		c.SubtaskTimeout = 2 * time.Minute
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 5 * time.Minute
	}
	if c.AcceptTimeout <= 0 {
		c.AcceptTimeout = time.Second
	}
	if c.LostAfter <= 0 {
		c.LostAfter = 3 * time.Second
	}
	if c.MaxRounds <= 0 {
		c.MaxRounds = 2
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Handle plans a request and runs the plan. onEvent, when not nil, gets
// the request's progress events one at a time, possibly from several
// goroutines in turn; it must not block for long.
func (r *Router) Handle(ctx context.Context, req task.Request, onEvent func(task.Event)) task.Response {
	started := time.Now()
	if req.ID == "" {
		req.ID = task.NewID("req_")
	}
	if req.Model == task.ModelTaskrouter {
		req.Model = "" // plan it, as the HTTP API does
	}
	resp := r.handle(ctx, &req, started, onEvent)
	r.ended(&req, &resp, started)
	return resp
}

// handle is Handle. The request goes by pointer from here to the run,
// which keeps its copy: a streaming request's goroutine holds these
// frames while it streams.
func (r *Router) handle(ctx context.Context, req *task.Request, started time.Time, onEvent func(task.Event)) task.Response {
	if err := r.check(req); err != nil {
		return r.refuse(req, started, err, onEvent)
	}
	ctx, cancel := r.requestContext(ctx, req)
	defer cancel()
	if err := r.resolveAttachments(ctx, req); err != nil {
		return r.refuse(req, started, err, onEvent)
	}
	if sp, ok := r.streams(req); ok {
		return r.runStreamed(ctx, req, sp, started, onEvent)
	}
	plan, err := r.tracedPlan(ctx, req)
	if err != nil {
		return r.refuse(req, started, err, onEvent)
	}
	return r.run(ctx, req, plan, started, onEvent, r.replanner(req))
}

// check checks req against the router's limits. It is not inlined:
// Request.Check has a value receiver, and the copy of the request it
// takes would sit in handle's frame for the whole run.
//
//go:noinline
func (r *Router) check(req *task.Request) error { return req.Check(r.cfg.Limits) }

// Plan plans a request as Handle would, for an ingress that needs the
// plan before it runs the request (to stream a one-step plan's text, or
// to show a job's plan): the request's own plan, the one-step plan of a
// request naming its model, else the planner's. Run the request with
// Handle, its Plan set to the result. A request whose planning fails ends
// here, and is counted as failed.
func (r *Router) Plan(ctx context.Context, req task.Request) (task.Plan, error) {
	started := time.Now()
	// Planners read the attachments' types; Handle resolves them again
	// (a lookup: what an ingress attaches is stored already).
	err := r.resolveAttachments(ctx, &req)
	var plan task.Plan
	if err == nil {
		plan, err = r.tracedPlan(ctx, &req)
	}
	if err != nil {
		r.ended(&req, &task.Response{Error: task.AsError(err)}, started)
	}
	return plan, err
}

// tracedPlan is plan, in a span of its own when the router plans.
func (r *Router) tracedPlan(ctx context.Context, req *task.Request) (task.Plan, error) {
	if req.Plan != nil {
		return *req.Plan, nil
	}
	ctx, span := r.startPlanSpan(ctx, *req)
	plan, err := r.plan(ctx, *req)
	endPlanSpan(span, plan, err)
	return plan, err
}

// refuse answers a request that fails before it has a plan to run; its
// only event is the finished one.
func (r *Router) refuse(req *task.Request, started time.Time, err error, onEvent func(task.Event)) task.Response {
	resp := task.Response{ID: req.ID, Subtasks: []task.SubtaskState{}, Error: task.AsError(err)}
	r.newRun(req, task.Plan{}, started, onEvent, true).finish(&resp)
	return resp
}

// plan is the request's own plan; for a request that names a model, the
// one-step plan pinned to it (task.Request.PinnedTo); else the planner's.
func (r *Router) plan(ctx context.Context, req task.Request) (task.Plan, error) {
	switch {
	case req.Plan != nil:
		return *req.Plan, nil
	case req.Model != "":
		spec, ok := r.sel.Spec(req.Model)
		if !ok {
			return task.Plan{}, task.Errorf(task.CodeModelNotFound,
				"model %q is not registered: no executor announced it; name one from `taskrouter models` or GET /v1/models, or leave \"model\" out to let taskrouter plan", req.Model)
		}
		return *req.PinnedTo(spec).Plan, nil
	case r.planner == nil:
		return task.Plan{}, task.Errorf(task.CodeInvalidRequest, "this router has no planner; send a request with a \"plan\"")
	}
	return r.planner.Plan(ctx, req)
}

func (r *Router) requestContext(ctx context.Context, req *task.Request) (context.Context, context.CancelFunc) {
	timeout := r.cfg.RequestTimeout
	if req.TimeoutMs > 0 && time.Duration(req.TimeoutMs)*time.Millisecond < timeout {
		timeout = time.Duration(req.TimeoutMs) * time.Millisecond
	}
	return context.WithTimeout(ctx, timeout)
}

// Close stops serving and waits for requests being served to finish. It
// does not close the NATS connection. It is idempotent.
func (r *Router) Close() error {
	var err error
	r.closeOnce.Do(func() {
		r.serving.Wait()
		r.spans.Close()
		err = r.inbox.close()
	})
	return err
}

// catalog is the catalog as of now: Config.Catalogs' when set, else
// Config.Catalog.
func (r *Router) catalog() *task.Catalog {
	if r.cfg.Catalogs != nil {
		return r.cfg.Catalogs()
	}
	return r.cfg.Catalog
}
