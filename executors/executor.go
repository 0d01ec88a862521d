// Package executors is the worker runtime: it serves models on NATS with
// bounded concurrency, keeps their replicas alive in the registry with
// heartbeats, and drains gracefully.
package executors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/trace"

	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/task"
	"github.com/taskrouter/taskrouter/telemetry"
)

// Model does the work of one subtask. localmodel and the remote adapters
// implement it.
type Model interface {
	Generate(ctx context.Context, w task.Work, progress func(delta string)) (task.Output, error)
}

// Relayer is a Model that can send a Work's Body (the caller's own OpenAI
// request) upstream as is and stream the upstream's answer chunk by
// chunk: the executor forwards each chunk, with its text, to whoever
// follows the work. A Model without it gets such work through Generate,
// and reads its Input. Relay reads w and neither keeps nor changes it; w
// goes by pointer because a stream is read under the call for as long as
// it lasts, on a worker's stack. A chunk's raw and delta are valid only
// during the call to chunk, which must copy what it keeps.
type Relayer interface {
	Relay(ctx context.Context, w *task.Work, chunk func(raw []byte, delta string)) (task.Output, error)
}

// Served is one model an executor serves.
type Served struct {
	Spec  task.ModelSpec
	Model Model
}

// Config configures an executor. Models is required; the rest has defaults.
type Config struct {
	// ID names this executor process in replies and the registry; default
	// host-pid-random.
	ID     string
	Models []Served
	// Announcer receives specs and heartbeats; nil announces nothing.
	Announcer registry.Announcer
	// Heartbeat is the interval between heartbeats (default 1s); a replica
	// lives for three intervals after its last one.
	Heartbeat time.Duration
	// KeepAlive is the interval of empty progress messages while a subtask
	// runs, so the router can tell a slow model from a dead executor
	// (default 500ms).
	KeepAlive time.Duration
	// MaxQueue is how many subtasks per model may wait for a free slot
	// beyond its concurrency before new ones are refused as overloaded
	// (default DefaultMaxQueue). Waiting subtasks get keep-alives too, so
	// the router tells a long queue from a dead executor.
	MaxQueue int
	// QueueWait is how long a subtask may wait for a free slot before it
	// is answered overloaded, with retry_after_ms, so that the router can
	// try elsewhere or later (default DefaultQueueWait).
	QueueWait time.Duration
	// Version is this executor's version in NATS's service discovery.
	Version string
	Logger  *slog.Logger
	// Metrics, when set, receives what the executor measures.
	Metrics Metrics
	// Tracer, when set, records a span for every subtask, a child of the
	// router's span for its attempt when the work carries its trace
	// context; the model's own spans are its children.
	Tracer trace.Tracer
	// Artifacts is the artifact store, which models that read or make
	// binary data (ArtifactModel) get, scoped to their work; nil serves
	// such work with an unavailable error.
	Artifacts task.Artifacts
}

// Executor serves models on NATS.
type Executor struct {
	cfg    Config
	nc     *nats.Conn
	models map[string]*served
	cancel *cancels

	subs      []*nats.Subscription
	cancelSub *nats.Subscription
	service   *bus.Service
	work      sync.WaitGroup // admitted subtasks not yet answered
	workers   sync.WaitGroup
	// spawnMu orders starting a worker and closing quit, so that no
	// worker starts once Stop waits for them.
	spawnMu sync.Mutex
	quit    chan struct{}
	hbStop  chan struct{}
	hbDone  chan struct{}
	kaDone  chan struct{}
	// keepAlive is the constant reply, encoded once.
	keepAlive []byte
	accepts   accepts
	// stopWatch ends the Watch of every Watcher model; watchers waits
	// for them.
	stopWatch context.CancelFunc
	watchers  sync.WaitGroup
	stopOnce  sync.Once
	// spans ends the work's spans off the path of the replies.
	spans     *telemetry.Ender
	drainOnce sync.Once
	drainErr  error
}

// ErrNoModels is returned by Start when the config serves no model.
var ErrNoModels = errors.New("executors: no models to serve")

// Start subscribes to every model's subject (queue group = model name) and
// to cancellations, announces the models and starts heartbeats.
func Start(ctx context.Context, nc *nats.Conn, cfg Config) (*Executor, error) {
	if len(cfg.Models) == 0 {
		return nil, ErrNoModels
	}
	cfg = withDefaults(cfg)
	keepAlive, _ := json.Marshal(task.Reply{Type: task.ReplyProgress, Executor: cfg.ID})
	e := &Executor{keepAlive: keepAlive, cfg: cfg, nc: nc, models: map[string]*served{}, cancel: newCancels(),
		spans:  telemetry.NewEnder(telemetry.EndDelay),
		hbStop: make(chan struct{}), hbDone: make(chan struct{}), kaDone: make(chan struct{}), quit: make(chan struct{})}
	for _, m := range cfg.Models {
		if err := task.CheckModelName(m.Spec.Name); err != nil {
			return nil, fmt.Errorf("executors: %w", err) // NATS would refuse it as a queue group
		}
		if _, dup := e.models[m.Spec.Name]; dup {
			return nil, fmt.Errorf("executors: model %q listed twice", m.Spec.Name)
		}
		e.models[m.Spec.Name] = newServed(m, cfg.MaxQueue, cfg.QueueWait)
	}
	if err := e.register(); err != nil {
		return nil, err
	}
	if err := e.subscribe(); err != nil {
		e.unsubscribe()
		return nil, err
	}
	if err := e.announce(ctx); err != nil {
		e.unsubscribe()
		return nil, err
	}
	go e.heartbeats()
	go e.keepAlives()
	e.watch()
	return e, nil
}

func withDefaults(cfg Config) Config {
	if cfg.ID == "" {
		host, _ := os.Hostname()
		cfg.ID = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), task.NewID("")[:6])
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = time.Second
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = 500 * time.Millisecond
	}
	if cfg.MaxQueue <= 0 {
		cfg.MaxQueue = DefaultMaxQueue
	}
	if cfg.QueueWait <= 0 {
		cfg.QueueWait = DefaultQueueWait
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}

func (e *Executor) subscribe() error {
	sub, err := e.nc.Subscribe(task.SubjectCancelAll, e.onCancel)
	if err != nil {
		return fmt.Errorf("subscribing to cancellations: %w", err)
	}
	e.cancelSub = sub
	for name, m := range e.models {
		m := m
		sub, err := e.nc.QueueSubscribe(task.ModelSubject(name), name, func(msg *nats.Msg) { e.onWork(m, msg) })
		if err != nil {
			return fmt.Errorf("subscribing to model %s: %w", name, err)
		}
		// Work waits in our own queue, not in the client's buffer.
		_ = sub.SetPendingLimits(-1, -1)
		e.subs = append(e.subs, sub)
	}
	if err := e.nc.Flush(); err != nil {
		return fmt.Errorf("subscribing to models: %w", err)
	}
	// A refused subscription is reported asynchronously, before the
	// flush's answer: an executor must not look alive for a model whose
	// subtasks it can never receive.
	if err := e.nc.LastError(); errors.Is(err, nats.ErrPermissionViolation) {
		return fmt.Errorf("subscribing to models: the NATS server refused: %w; the executor's NATS user must be allowed these models", err)
	}
	return nil
}

// ID returns the executor's id.
func (e *Executor) ID() string { return e.cfg.ID }

// InFlight returns how many subtasks of a model run or wait here.
func (e *Executor) InFlight(model string) int {
	if m, ok := e.models[model]; ok {
		return m.inFlight()
	}
	return 0
}

// Drain stops taking new subtasks, finishes those in flight, deregisters
// the replicas and stops heartbeats. It returns early with ctx's error when
// ctx ends first; in-flight work is then cancelled. Drain is idempotent.
func (e *Executor) Drain(ctx context.Context) error {
	e.drainOnce.Do(func() {
		var closed []<-chan nats.SubStatus
		for _, sub := range e.subs {
			closed = append(closed, sub.StatusChanged(nats.SubscriptionClosed))
			_ = sub.Drain()
		}
		done := make(chan struct{})
		go func() {
			// Drained subscriptions hand over what they had buffered
			// before they close; then only running work is left.
			for _, ch := range closed {
				<-ch
			}
			e.work.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-ctx.Done():
			e.cancel.all()
			e.drainErr = fmt.Errorf("draining executor %s: %w", e.cfg.ID, ctx.Err())
		}
		e.Stop()
		e.deregister(context.WithoutCancel(ctx))
	})
	return e.drainErr
}

// Stop unsubscribes and stops heartbeats at once. Subtasks already running
// go on until they end; queued ones are answered with a retryable error so
// the router sends them elsewhere. Use Drain for a graceful stop.
func (e *Executor) Stop() {
	e.stopOnce.Do(func() {
		e.unsubscribe()
		e.stopWatch()
		e.watchers.Wait()
		close(e.hbStop)
		<-e.hbDone
		<-e.kaDone
		e.spawnMu.Lock()
		close(e.quit)
		e.spawnMu.Unlock()
		// Work still running ends its spans at once from now on.
		e.spans.Close()
		go func() {
			e.workers.Wait()
			for _, m := range e.models {
				e.refuseQueued(m)
			}
		}()
	})
}

func (e *Executor) unsubscribe() {
	e.service.Stop()
	for _, sub := range e.subs {
		_ = sub.Unsubscribe()
	}
	if e.cancelSub != nil {
		_ = e.cancelSub.Unsubscribe()
	}
}

// Models returns the names of the models this executor serves, sorted.
func (e *Executor) Models() []string {
	names := make([]string, 0, len(e.models))
	for name := range e.models {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
