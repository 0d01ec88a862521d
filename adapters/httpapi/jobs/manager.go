package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/taskrouter/taskrouter/adapters/httpapi/kv"
	"github.com/taskrouter/taskrouter/task"
)

// Runner runs a request and reports its events; the router is one.
type Runner interface {
	Handle(ctx context.Context, req task.Request, onEvent func(task.Event)) task.Response
}

// Planner plans a request before it runs, so that a job shows its plan
// while it runs; the router's planner is one.
type Planner interface {
	Plan(ctx context.Context, req task.Request) (task.Plan, error)
}

// Errors of the Manager.
var (
	// ErrQueueFull: every worker is busy and the queue is full; the job was
	// not accepted. Retry later.
	ErrQueueFull = errors.New("jobs: the queue is full")
	// ErrClosed: the manager is shutting down and accepts no jobs.
	ErrClosed = errors.New("jobs: shutting down")
	// ErrFinal: the job is already done, failed or cancelled.
	ErrFinal = errors.New("jobs: the job has already ended")
	// ErrNoCallbackSecret: a callback URL was given but no signing secret
	// is configured.
	ErrNoCallbackSecret = errors.New("jobs: callbacks need a signing secret")
	// ErrBadCallbackURL: the callback URL is not an absolute http(s) URL.
	ErrBadCallbackURL = errors.New("jobs: callback_url must be an absolute http or https URL")
	// ErrBadID: Spec.ID is not a job id (see ValidID).
	ErrBadID = errors.New("jobs: a job id is 1-64 letters, digits, '-' and '_', starting with a letter or digit")
	// ErrNoResults: a job with a result subject was submitted to a
	// manager that publishes no results.
	ErrNoResults = errors.New("jobs: this manager publishes no results")
)

// Config configures a Manager. Runner and Store are required.
type Config struct {
	Runner  Runner
	Planner Planner
	// Store keeps the jobs; share a JetStream bucket between routers so
	// that any of them answers for any job.
	Store kv.Store
	// Feed carries updates to followers (default: in memory).
	Feed Feed
	// Broadcast reaches the routers that run jobs this one does not
	// (default: none, a single router).
	Broadcast Broadcast
	// Workers is how many jobs run at once (16).
	Workers int
	// Queue is how many accepted jobs may wait for a worker (1024); beyond
	// it Submit refuses with ErrQueueFull.
	Queue int
	// Callbacks configures result delivery.
	Callbacks CallbackConfig
	// Results publishes the Responses of jobs submitted with a
	// ResultSubject (durable requests); without it such jobs are refused.
	Results ResultPublisher
	// Instance names this router in the jobs it runs.
	Instance string
	// LeaseTTL is how long a router's lease may go unrenewed before the
	// other routers take its jobs over (15s): those not ended run again
	// from the start, and pending callbacks are delivered.
	LeaseTTL time.Duration
	// LeaseRenew is how often this router renews its lease (LeaseTTL/3);
	// it must be shorter than LeaseTTL.
	LeaseRenew time.Duration
	// ScanInterval is about how often this router looks for jobs whose
	// owner was lost (LeaseTTL/3, with jitter).
	ScanInterval time.Duration
	// MaxTakeovers bounds how often one job is taken over (3); the next
	// time its router is lost, it fails with code "unavailable".
	MaxTakeovers int
	Logger       *slog.Logger
}

// Manager accepts, runs, stores and delivers jobs. It is safe for
// concurrent use.
type Manager struct {
	cfg      Config
	store    store
	deliver  *deliverer
	results  *resultSender
	queue    chan *local
	pending  atomic.Int64 // accepted, not yet finished
	capacity int64

	base       context.Context
	cancelBase context.CancelCauseFunc

	// closing guards closed and the queue channel: Submit holds it to read,
	// Close to write, so no job is sent on a closed queue.
	closing sync.RWMutex
	closed  bool

	mu    sync.Mutex
	local map[string]*local // jobs accepted here and not yet finished

	workers     sync.WaitGroup
	stopCancels func()
	// held are the jobs this process holds the lease of. Its lease id is
	// new in every process, so that a router restarted under the same
	// Instance takes over the jobs its predecessor left.
	held      *holdings
	loops     sync.WaitGroup // the lease renewer and the scanner
	stopLoops context.CancelFunc
	closeOnce sync.Once
}

// local is a job this router accepted and has not finished.
type local struct {
	job    Job
	ctx    context.Context
	cancel context.CancelCauseFunc
	done   chan struct{} // closed once a worker has dequeued it

	mu    sync.Mutex
	phase phase
}

type phase int

const (
	phaseQueued  phase = iota
	phaseRunning       // a worker runs it
	phaseEnded         // cancelled while queued; the worker skips it
)

// claim moves a queued job to running; false means it was cancelled.
func (l *local) claim() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.phase != phaseQueued {
		return false
	}
	l.phase = phaseRunning
	return true
}

// New starts a manager: its workers, the renewer of its jobs' leases and
// the scanner that takes over the jobs of lost routers.
func New(cfg Config) (*Manager, error) {
	if cfg.Runner == nil || cfg.Store == nil {
		return nil, errors.New("jobs: a runner and a store are required")
	}
	cfg = cfg.withDefaults()
	if cfg.LeaseRenew >= cfg.LeaseTTL {
		return nil, fmt.Errorf("jobs: the lease renewal interval %s must be shorter than the lease TTL %s", cfg.LeaseRenew, cfg.LeaseTTL)
	}
	m := &Manager{cfg: cfg, local: map[string]*local{}, held: newHoldings(task.NewID(""), cfg.LeaseTTL),
		queue: make(chan *local, cfg.Workers+cfg.Queue), capacity: int64(cfg.Workers + cfg.Queue)}
	m.store = store{kv: cfg.Store, held: m.held}
	m.base, m.cancelBase = context.WithCancelCause(context.Background())
	m.deliver = newDeliverer(cfg.Callbacks, m.store, cfg.Logger)
	m.results = newResultSender(cfg.Results, m.store, cfg.Feed, cfg.Logger)
	if cfg.Broadcast != nil {
		stop, err := cfg.Broadcast.OnCancel(func(id string) { m.cancelLocal(id) })
		if err != nil {
			return nil, err
		}
		m.stopCancels = stop
	}
	for range cfg.Workers {
		m.workers.Add(1)
		go m.work()
	}
	loops, stop := context.WithCancel(context.Background())
	m.stopLoops = stop
	m.loops.Add(2)
	go m.renewLoop(loops)
	go m.scanLoop(loops)
	return m, nil
}

func (c Config) withDefaults() Config {
	if c.Workers <= 0 {
		c.Workers = 16
	}
	if c.Queue <= 0 {
		c.Queue = 1024
	}
	if c.Feed == nil {
		c.Feed = NewMemoryFeed()
	}
	if c.Instance == "" {
		c.Instance = task.NewID("router_")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 15 * time.Second
	}
	if c.LeaseRenew <= 0 {
		c.LeaseRenew = c.LeaseTTL / 3
	}
	if c.ScanInterval <= 0 {
		c.ScanInterval = c.LeaseTTL / 3
	}
	if c.MaxTakeovers <= 0 {
		c.MaxTakeovers = 3
	}
	return c
}

// Submit accepts a job, stores it as queued and returns it at once. It
// returns ErrQueueFull when the job cannot be queued, ErrClosed while
// shutting down, ErrExists when Spec.ID is taken, ErrBadID or ErrNoResults
// for a bad spec, ErrTooLarge for a request the store cannot take, and
// ErrNoCallbackSecret or ErrBadCallbackURL (also ErrRefusedAddress for an
// address callbacks may not reach) for a bad callback; nothing is stored
// then. A spec with Fail is stored as failed at once, and never queued.
func (m *Manager) Submit(ctx context.Context, spec Spec) (Job, error) {
	if err := m.checkSpec(spec); err != nil {
		return Job{}, err
	}
	if spec.Fail != nil {
		return m.refuse(ctx, spec)
	}
	if m.pending.Add(1) > m.capacity {
		m.pending.Add(-1)
		return Job{}, ErrQueueFull
	}
	m.closing.RLock()
	defer m.closing.RUnlock()
	if m.closed {
		m.pending.Add(-1)
		return Job{}, ErrClosed
	}
	l, err := m.accept(ctx, spec)
	if err != nil {
		m.pending.Add(-1)
		return Job{}, err
	}
	return m.enqueue(l), nil
}

// enqueue hands a registered job to the workers and announces it; the
// caller has reserved its place and holds closing to read.
func (m *Manager) enqueue(l *local) Job {
	snapshot := l.job.clone() // before the worker may change it
	m.queue <- l              // never blocks: pending bounds what is in the channel
	m.cfg.Feed.Publish(snapshot.ID, Update{Job: &snapshot})
	return snapshot
}

func (m *Manager) checkSpec(spec Spec) error {
	switch {
	case spec.ID != "" && !ValidID(spec.ID):
		return ErrBadID
	case spec.ResultSubject != "" && m.cfg.Results == nil:
		return ErrNoResults
	}
	return m.checkCallback(spec.CallbackURL)
}

// refuse stores a job that ends at once with spec.Fail, and publishes
// its result.
func (m *Manager) refuse(ctx context.Context, spec Spec) (Job, error) {
	m.closing.RLock()
	defer m.closing.RUnlock()
	if m.closed {
		return Job{}, ErrClosed
	}
	j := m.newJob(spec)
	j.Status, j.Error, j.EndedAt = StatusFailed, spec.Fail, j.CreatedAt
	if j.Callback != nil {
		j.Callback.NextAttemptAt = j.EndedAt
	}
	if err := m.store.create(ctx, &j); err != nil {
		return Job{}, err
	}
	snapshot := j.clone()
	m.cfg.Feed.Publish(j.ID, Update{Job: &snapshot})
	m.startDeliveries(j)
	return snapshot, nil
}

// startDeliveries sends an ended job's callback and result, if pending.
func (m *Manager) startDeliveries(j Job) {
	if j.Callback != nil && j.Callback.State == DeliveryPending {
		m.deliver.start(j.clone())
	}
	m.results.start(j.clone())
}

func (m *Manager) checkCallback(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ErrBadCallbackURL
	}
	if m.cfg.Callbacks.Secret.IsZero() {
		return ErrNoCallbackSecret
	}
	return m.cfg.Callbacks.CheckURL(raw)
}

// accept stores the job and registers it as local; the caller has
// reserved its place in the queue.
func (m *Manager) accept(ctx context.Context, spec Spec) (*local, error) {
	j := m.newJob(spec)
	if err := m.store.create(ctx, &j); err != nil {
		return nil, err
	}
	return m.register(j), nil
}

// newJob is a queued job of spec, owned by this router.
func (m *Manager) newJob(spec Spec) Job {
	j := Job{ID: spec.ID, Object: "job", Status: StatusQueued, Model: spec.Model, Source: spec.Source,
		Owner: spec.Owner, CreatedAt: time.Now().UTC(), Request: spec.Request, Subtasks: []task.SubtaskState{},
		Metadata: spec.Metadata, Traceparent: spec.Traceparent}
	if j.ID == "" {
		j.ID = newJobID()
	}
	m.own(&j)
	j.Request.ID = j.ID
	if spec.CallbackURL != "" {
		j.Callback = &Callback{URL: spec.CallbackURL, State: DeliveryPending}
	}
	if spec.ResultSubject != "" {
		j.Result = &Result{Subject: spec.ResultSubject, State: DeliveryPending}
	}
	return j
}

// register makes a stored job local, to be run here.
func (m *Manager) register(j Job) *local {
	l := &local{job: j, done: make(chan struct{})}
	l.ctx, l.cancel = context.WithCancelCause(m.base)
	m.mu.Lock()
	m.local[j.ID] = l
	m.mu.Unlock()
	return l
}

// Get returns a job. A job owned by another API key is ErrNotFound.
func (m *Manager) Get(ctx context.Context, id, owner string) (Job, error) {
	j, err := m.store.get(ctx, id)
	if err != nil {
		return Job{}, err
	}
	if j.Owner != "" && j.Owner != owner {
		return Job{}, ErrNotFound
	}
	return j, nil
}

// Follow subscribes fn to a job's updates and then returns the job as it
// is, so that no update after the returned state is missed (one before it
// may be seen twice). fn must not block. Call stop when done.
func (m *Manager) Follow(ctx context.Context, id, owner string, fn func(Update)) (Job, func(), error) {
	if !validID(id) {
		return Job{}, nil, ErrNotFound
	}
	stop, err := m.cfg.Feed.Subscribe(id, fn)
	if err != nil {
		return Job{}, nil, err
	}
	j, err := m.Get(ctx, id, owner)
	if err != nil {
		stop()
		return Job{}, nil, err
	}
	return j, stop, nil
}

// errCancelled is the cause of a job's context when a caller cancels it;
// the router reports it as the subtasks' error.
func errCancelled(id string) *task.Error {
	return task.Errorf(task.CodeCancelled, "job %s was cancelled by a DELETE request", id)
}

var errShutdown = task.Errorf(task.CodeUnavailable, "the router shut down before the job finished; submit it again")

// Cancel cancels a queued or running job: its context ends, so the router
// cancels its subtasks at the executors. It waits until the job has
// stopped (or ctx ends) and returns it. It returns ErrFinal for a job that
// had already ended.
func (m *Manager) Cancel(ctx context.Context, id, owner string) (Job, error) {
	j, err := m.Get(ctx, id, owner)
	if err != nil {
		return Job{}, err
	}
	if j.Status.Final() {
		return j, ErrFinal
	}
	// A job another router holds the lease of is cancelled there, even if
	// this router ran it before being taken for lost: the broadcast reaches
	// both.
	if j.Lease != m.held.lease && m.cfg.Broadcast != nil {
		if err := m.cfg.Broadcast.RequestCancel(id); err != nil {
			return j, err
		}
		return m.awaitFinal(ctx, id, owner)
	}
	if done, ok := m.cancelLocal(id); ok {
		select {
		case <-done:
		case <-ctx.Done():
		}
	}
	return m.Get(ctx, id, owner)
}

// cancelLocal cancels a job if it was accepted here. A queued job ends at
// once; a running one ends when the router has stopped its subtasks, which
// the returned channel tells.
func (m *Manager) cancelLocal(id string) (<-chan struct{}, bool) {
	m.mu.Lock()
	l, ok := m.local[id]
	m.mu.Unlock()
	if !ok {
		return nil, false
	}
	l.cancel(errCancelled(id))
	l.mu.Lock()
	queued := l.phase == phaseQueued
	if queued {
		l.phase = phaseEnded
	}
	l.mu.Unlock()
	if !queued {
		return l.done, true
	}
	m.finish(l, task.Response{})
	ended := make(chan struct{})
	close(ended)
	return ended, true
}

// awaitFinal polls the store until another router has stopped the job.
func (m *Manager) awaitFinal(ctx context.Context, id, owner string) (Job, error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		j, err := m.Get(ctx, id, owner)
		if err != nil || j.Status.Final() {
			return j, err
		}
		select {
		case <-ctx.Done():
			return j, nil
		case <-tick.C:
		}
	}
}

// Close stops accepting jobs and lets the queued and running ones finish
// until ctx ends; then it cancels what is left, which ends as failed with
// code "unavailable" (never silently dropped), and waits for the final
// states and callback attempts to be stored. It is idempotent.
func (m *Manager) Close(ctx context.Context) error {
	m.closeOnce.Do(func() {
		m.closing.Lock()
		m.closed = true
		close(m.queue)
		m.closing.Unlock()
		finished := make(chan struct{})
		go func() { m.workers.Wait(); close(finished) }()
		select {
		case <-finished:
		case <-ctx.Done():
			m.cancelBase(errShutdown)
			<-finished
		}
		m.deliver.close(ctx)
		m.results.close(ctx)
		m.cancelBase(errShutdown)
		if m.stopCancels != nil {
			m.stopCancels()
		}
		// Callbacks left pending are no longer renewed: another router
		// delivers them once their lease runs out.
		m.stopLoops()
		m.loops.Wait()
	})
	return nil
}

// Counts returns how many jobs this router holds now: queued for a
// worker, and running.
func (m *Manager) Counts() (queued, running int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, l := range m.local {
		l.mu.Lock()
		switch l.phase {
		case phaseQueued:
			queued++
		case phaseRunning:
			running++
		}
		l.mu.Unlock()
	}
	return queued, running
}

// Pending returns how many accepted jobs have not finished.
func (m *Manager) Pending() int { return int(m.pending.Load()) }

// Room returns how many more jobs Submit would accept now.
func (m *Manager) Room() int { return max(0, int(m.capacity-m.pending.Load())) }

func (m *Manager) forget(id string) {
	m.mu.Lock()
	delete(m.local, id)
	m.mu.Unlock()
}

// save stores a job this router runs. It reports false when another
// router has taken the job over: the local run is then cancelled, and
// nothing more of it is stored, announced or delivered. An ended job's
// state is retried until it is stored (or shutdown): lost, it would leave
// the job running in the store for ever, its lease renewed by this
// router; a NATS cluster electing a new leader for the bucket answers
// again within seconds.
func (m *Manager) save(j *Job) bool {
	for n := 1; ; n++ {
		// The job's own context may be cancelled; the store write must not be.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := m.store.update(ctx, j)
		cancel()
		if err == nil {
			return true
		}
		if errors.Is(err, errLeaseLost) {
			m.leaseLost(j.ID)
			return false
		}
		m.cfg.Logger.Warn("storing job state", "job_id", j.ID, "request_id", j.Request.ID, "status", j.Status, "attempt", n, "err", err)
		if !j.Status.Final() || !sleepUntil(m.base, time.Now().Add(resultBackoff(n))) {
			return true
		}
	}
}

// leaseLost stops a job another router has taken over.
func (m *Manager) leaseLost(id string) {
	m.mu.Lock()
	l := m.local[id]
	m.mu.Unlock()
	if l != nil {
		l.cancel(errLeaseLost)
	}
	m.cfg.Logger.Warn("another router took the job over; stopping it here", "job_id", id)
}

// String names the manager for logs.
func (m *Manager) String() string { return fmt.Sprintf("jobs manager %s", m.cfg.Instance) }
