package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/taskrouter/taskrouter/adapters/durable"
	"github.com/taskrouter/taskrouter/adapters/httpapi/jobs"
	"github.com/taskrouter/taskrouter/adapters/httpapi/kv"
	"github.com/taskrouter/taskrouter/bus"
)

// jobsPart runs jobs for the HTTP API (POST /v1/jobs, webhooks) and for
// the durable requests of NATS producers: one manager, one job store.
type jobsPart struct {
	nc      *nats.Conn
	mgr     *jobs.Manager
	dedupe  kv.Store // webhook ids
	durable *durable.Consumer
}

// startJobs starts the jobs manager, when the HTTP API or durable
// requests need it, and the durable requests' consumer. stop stops taking
// durable requests, lets jobs finish until its context ends (acking the
// requests whose results are published), and then fails the other jobs,
// leaving durable requests' jobs to another router.
func (a *app) startJobs(ctx context.Context) (stop func(context.Context) error, err error) {
	wantDurable := a.cfg.NATS.Durable.Enabled
	if a.cfg.HTTP.Addr == "" && !wantDurable {
		return func(context.Context) error { return nil }, nil
	}
	nc, err := a.bus.Connect("jobs")
	if err != nil {
		return nil, unavailableError{err}
	}
	p := &jobsPart{nc: nc}
	var store kv.Store
	if store, p.dedupe, err = a.httpStores(ctx, nc); err != nil {
		return nil, err
	}
	var results *durable.Results
	if wantDurable {
		if results, err = a.durableResults(ctx, nc); err != nil {
			return nil, err
		}
	}
	if p.mgr, err = a.jobsManager(nc, store, results); err != nil {
		return nil, err
	}
	if results != nil {
		if p.durable, err = a.startDurable(ctx, nc, p.mgr, results); err != nil {
			_ = p.mgr.Close(ctx)
			return nil, err
		}
	}
	a.jobs = p
	return p.close, nil
}

func (p *jobsPart) close(ctx context.Context) error {
	if p.durable != nil {
		_ = p.durable.Close(ctx)
	}
	return p.mgr.Close(ctx)
}

func (a *app) jobsManager(nc *nats.Conn, store kv.Store, results *durable.Results) (*jobs.Manager, error) {
	callbacks, err := a.callbackConfig()
	if err != nil {
		return nil, usageError{err.Error()}
	}
	h := a.cfg.HTTP
	feed := jobs.NewNATSFeed(nc)
	// The router plans for jobs too, so that planning is traced, and a
	// request whose planning fails is counted.
	cfg := jobs.Config{Runner: a.router, Planner: a.router, Store: store, Feed: feed, Broadcast: feed,
		Workers: h.Jobs.Workers, Queue: h.Jobs.Queue, Callbacks: callbacks, Logger: a.log}
	if results != nil {
		cfg.Results = results
	}
	mgr, err := jobs.New(cfg)
	if err == nil && a.metrics != nil {
		a.metrics.WatchJobs(mgr)
	}
	return mgr, err
}

// durableResults sets the durable requests' streams up, and returns the
// publisher of their results; nil, and a warning, when the NATS servers
// have no JetStream to keep them in.
func (a *app) durableResults(ctx context.Context, nc *nats.Conn) (*durable.Results, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := a.setupDurable(nc)(ctx); err != nil {
		if errors.Is(err, bus.ErrNoJetStream) {
			a.log.Warn("JetStream is unavailable; durable requests (tr.v1.jobs) are off", "err", err)
			return nil, nil
		}
		return nil, unavailableError{fmt.Errorf("setting up durable requests (nats.durable): %w", err)}
	}
	r, err := durable.NewResults(nc)
	if err != nil {
		return nil, unavailableError{err}
	}
	return r, nil
}

// setupDurable creates or updates the durable requests' streams and the
// routers' consumer with the configured settings.
func (a *app) setupDurable(nc *nats.Conn) func(context.Context) (jetstream.Consumer, error) {
	return func(ctx context.Context) (jetstream.Consumer, error) {
		js, err := jetstream.New(nc)
		if err != nil {
			return nil, fmt.Errorf("opening JetStream: %w", err)
		}
		return bus.SetupDurable(ctx, js, a.cfg.NATS.durable())
	}
}

// startDurable takes durable requests: this router holds up to twice as
// many as it runs at once, and leaves the rest to the other routers.
func (a *app) startDurable(ctx context.Context, nc *nats.Conn, mgr *jobs.Manager, results *durable.Results) (*durable.Consumer, error) {
	c, err := durable.Start(ctx, durable.Config{Setup: a.setupDurable(nc), Jobs: mgr, Results: results,
		Limits: a.cfg.TaskLimits(), MaxHeld: 2 * a.cfg.HTTP.Jobs.Workers, Logger: a.log})
	if err != nil {
		return nil, unavailableError{fmt.Errorf("taking durable requests: %w", err)}
	}
	return c, nil
}
