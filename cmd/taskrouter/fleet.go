package main

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/providers"
	"github.com/taskrouter/taskrouter/task"
)

// fleet serves discovered models, one executor each, so that a model its
// provider stops listing drains and leaves alone while the others serve
// on. It is the providers' Sink.
type fleet struct {
	a  *app
	nc *nats.Conn

	mu    sync.Mutex
	execs map[string]*executors.Executor
	// drains are the executors of withdrawn or replaced models finishing
	// their work.
	drains sync.WaitGroup
}

var _ providers.Sink = (*fleet)(nil)

// Serve starts an executor for a discovered model; a model served
// already (its spec changed) gets a new executor, and the old one drains.
func (f *fleet) Serve(ctx context.Context, spec task.ModelSpec) error {
	model, err := f.a.buildModel(spec)
	if err != nil {
		return err
	}
	a := f.a
	ex, err := executors.Start(ctx, f.nc, executors.Config{Models: []executors.Served{{Spec: spec, Model: model}},
		Announcer: a.reg, Logger: a.log, Version: serviceVersion(), MaxQueue: a.cfg.Executor.Queue,
		QueueWait: a.cfg.Executor.QueueWait, Metrics: a.executorMetrics(), Tracer: a.tracer()})
	if err != nil {
		return fmt.Errorf("starting the executor of %s: %w", spec.Name, err)
	}
	f.mu.Lock()
	old := f.execs[spec.Name]
	f.execs[spec.Name] = ex
	f.mu.Unlock()
	if old != nil {
		f.drain(old)
	}
	return nil
}

// Withdraw removes a model from the registry, then drains its executor:
// no new subtask goes to it, and those it has finish.
func (f *fleet) Withdraw(ctx context.Context, name string) error {
	f.mu.Lock()
	ex := f.execs[name]
	delete(f.execs, name)
	f.mu.Unlock()
	err := f.a.reg.Withdraw(ctx, name)
	if ex != nil {
		f.drain(ex)
	}
	return err
}

// drain lets an executor finish its subtasks, for as long as one may run.
func (f *fleet) drain(ex *executors.Executor) {
	f.drains.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), f.a.cfg.Router.SubtaskTimeout)
		defer cancel()
		if err := ex.Drain(ctx); err != nil {
			f.a.log.Warn("draining the executor of a withdrawn model", "err", err)
		}
	})
}

// close drains every executor, the served ones within ctx.
func (f *fleet) close(ctx context.Context) {
	f.mu.Lock()
	execs := f.execs
	f.execs = map[string]*executors.Executor{}
	f.mu.Unlock()
	for _, ex := range execs {
		if err := ex.Drain(ctx); err != nil {
			f.a.log.Warn("draining executor", "err", err)
		}
	}
	f.drains.Wait()
}

// Models returns the names of the models served, sorted.
func (f *fleet) Models() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	names := make([]string, 0, len(f.execs))
	for n := range f.execs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// InFlight returns how many subtasks of a model run or wait here.
func (f *fleet) InFlight(model string) int {
	f.mu.Lock()
	ex := f.execs[model]
	f.mu.Unlock()
	if ex == nil {
		return 0
	}
	return ex.InFlight(model)
}

// startDiscovery lists the providers once, serving what they list, and
// refreshes them in the background, when the process discovers any.
func (a *app) startDiscovery(ctx context.Context, parts appParts) error {
	sources, err := a.discoverySources(parts)
	if err != nil || len(sources) == 0 {
		return err
	}
	a.implicit = slices.ContainsFunc(sources, func(s providers.Source) bool { return s.Optional })
	inf, err := a.inference(a.implicit)
	if err != nil {
		return err
	}
	nc, err := a.bus.Connect("executor-discovered")
	if err != nil {
		return unavailableError{err}
	}
	a.fleet = &fleet{a: a, nc: nc, execs: map[string]*executors.Executor{}}
	a.watcher, err = providers.NewWatcher(providers.WatcherConfig{Sources: sources, Inference: inf, Sink: a.fleet,
		Exclude: a.excludeConfigured, Logger: a.log})
	if err != nil {
		return err
	}
	if err := a.watcher.Sync(ctx); err != nil {
		a.log.Warn("discovering models", "err", err) // the refreshes try again
	}
	a.watcher.Start()
	return nil
}

// stopDiscovery stops the refreshes and drains the discovered models'
// executors.
func (a *app) stopDiscovery(ctx context.Context) {
	if a.watcher != nil {
		a.watcher.Stop()
	}
	if a.fleet != nil {
		a.fleet.close(ctx)
	}
}

// processLoad is every executor of the process as metrics see them: the
// configured models' and the discovered ones'.
type processLoad struct{ a *app }

// Models returns the names of the models the process serves.
func (l processLoad) Models() []string {
	var names []string
	for _, ex := range l.a.execs {
		names = append(names, ex.Models()...)
	}
	if l.a.fleet != nil {
		names = append(names, l.a.fleet.Models()...)
	}
	return names
}

// InFlight returns how many subtasks of a model run or wait here.
func (l processLoad) InFlight(model string) int {
	n := 0
	for _, ex := range l.a.execs {
		n += ex.InFlight(model)
	}
	if l.a.fleet != nil {
		n += l.a.fleet.InFlight(model)
	}
	return n
}
