package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/taskrouter/taskrouter/adapters/httpapi/console"
	"github.com/taskrouter/taskrouter/adapters/mcp/client"
	"github.com/taskrouter/taskrouter/artifacts"
	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/memory"
	"github.com/taskrouter/taskrouter/planner"
	"github.com/taskrouter/taskrouter/planner/llm"
	"github.com/taskrouter/taskrouter/providers"
	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/task"
	"github.com/taskrouter/taskrouter/telemetry"
	"github.com/taskrouter/taskrouter/telemetry/metrics"
	"github.com/taskrouter/taskrouter/telemetry/tracing"
)

// app is one wired process: NATS, registry, executors, planner, router.
type app struct {
	cfg     Config
	getenv  func(string) string
	log     *slog.Logger
	catalog *task.Catalog
	// catalogs gives the catalog as of now: catalog plus the tools live
	// executors serve; nil when the process runs no router.
	catalogs func() *task.Catalog
	bus      *bus.Bus
	reg      registry.Registry
	planner  planner.Planner
	router   *router.Router
	gen      *lateGenerator
	execs    []*executors.Executor
	// tools are the clients of the MCP servers this process serves.
	tools []*client.Client
	// console records the recent requests for the web console; nil when
	// the command serves none.
	console *console.Recorder
	// jobs runs jobs for the HTTP API and durable requests, once started.
	jobs *jobsPart
	// artifacts is the store of binary data; nil when NATS has no JetStream.
	artifacts *artifacts.Store
	// httpAddr is where the HTTP API listens, once started.
	httpAddr string
	// metrics and tracing are what the process exports; nil when off.
	metrics *metrics.Metrics
	tracing *tracing.Provider
	// watcher keeps the providers' models served by fleet; both nil when
	// the process discovers none. implicit says whether it looks for the
	// Ollama at OLLAMA_HOST, for want of a config.
	watcher  *providers.Watcher
	fleet    *fleet
	implicit bool
	// memory keeps conversations, cache deterministic answers; nil when off.
	memory *memory.Memory
	cache  memory.Cache
	// closers close what the app opened besides its parts, last first.
	closers []func() error
}

// appParts says which parts a command needs.
type appParts struct {
	router    bool
	executors bool
	// models, when set, overrides cfg.Executors.
	models []string
	// metrics keeps Prometheus metrics; service, when set, is the
	// service.name traces are exported as (when OTEL_* asks for them).
	metrics bool
	service string
	// console records requests for the web console, when the config
	// turns it on and the HTTP API.
	console bool
	// tools, when set, names the tool servers to serve instead of the
	// config's (see toolNames).
	tools []string
	// plannerFor builds the planner over a catalog; with a router, the
	// planner is rebuilt over the live catalog whenever the tools that
	// live executors serve change.
	plannerFor func(*task.Catalog) (planner.Planner, error)
	// discover looks for an Ollama at OLLAMA_HOST and serves its models
	// for the capabilities no built-in model has: for ask, serve and
	// models without a config, unless --no-discover.
	discover bool
}

// loadConfig reads, overrides and validates the config; every problem is a
// usage error, reported before anything connects.
func loadConfig(env *cliEnv, path string) (Config, error) {
	cfg, err := LoadConfig(path)
	if err != nil {
		return cfg, usageError{err.Error()}
	}
	cfg.ApplyEnv(env.getenv)
	if err := cfg.Validate(); err != nil {
		return cfg, usageError{fmt.Sprintf("invalid config: %v", err)}
	}
	return cfg, nil
}

// planning is what ask, plan and serve share: the config, the catalog and
// the planner (with the generator its LLM planner asks, once a router runs).
type planning struct {
	cfg  Config
	cat  *task.Catalog
	pl   planner.Planner
	gen  *lateGenerator
	mode string
	// discover looks for an Ollama: no config file, no --no-discover.
	discover bool
}

func loadPlanning(env *cliEnv, c commonFlags) (planning, error) {
	var p planning
	var err error
	if p.cfg, err = loadConfig(env, c.config); err != nil {
		return p, err
	}
	p.cfg.CatalogOnly = p.cfg.CatalogOnly || c.catalogOnly
	if p.cat, err = buildCatalog(p.cfg, c.catalogs); err != nil {
		return p, err
	}
	p.gen, p.mode = &lateGenerator{}, c.planner
	p.pl, err = buildPlanner(p.cfg, p.cat, c.planner, p.gen)
	p.discover = c.config == "" && !c.noDiscover
	return p, err
}

// start starts the app with a router and this process's executors.
func (p planning) start(ctx context.Context, env *cliEnv) (*app, error) {
	return p.startWith(ctx, env, appParts{})
}

// startWith is start with more parts: metrics, for serve.
func (p planning) startWith(ctx context.Context, env *cliEnv, parts appParts) (*app, error) {
	parts.router, parts.executors, parts.service = true, true, telemetry.ServiceRouter
	parts.plannerFor = func(cat *task.Catalog) (planner.Planner, error) { return buildPlanner(p.cfg, cat, p.mode, p.gen) }
	parts.discover = p.discover
	return startApp(ctx, env, p.cfg, p.cat, p.pl, p.gen, parts)
}

// writeJSON prints v as indented JSON without HTML escaping.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// buildCatalog is the built-in catalog (none with catalog_only) plus the
// config's and the flag's files.
func buildCatalog(cfg Config, extra []string) (*task.Catalog, error) {
	cat, err := baseCatalog(cfg, slices.Concat(cfg.Catalog, extra))
	if err != nil {
		return nil, err
	}
	for _, path := range slices.Concat(cfg.Catalog, extra) {
		caps, err := planner.LoadCatalogFile(path)
		if err != nil {
			return nil, usageError{err.Error()}
		}
		if cat, err = cat.With(caps...); err != nil {
			return nil, usageError{fmt.Sprintf("catalog %s: %v", path, err)}
		}
	}
	if err := checkModelCapabilities(cfg, cat); err != nil {
		return nil, usageError{fmt.Sprintf("invalid config: %v", err)}
	}
	return cat, nil
}

// checkModelCapabilities refuses a configured model capability that no
// catalog defines: no plan ever asks for it, so the model would never be
// chosen for it, silently.
func checkModelCapabilities(cfg Config, cat *task.Catalog) error {
	var names []string
	for _, c := range cat.All() {
		names = append(names, c.Name)
	}
	var errs []error
	check := func(where string, caps []string) {
		for _, c := range caps {
			if !cat.Has(c) {
				errs = append(errs, fmt.Errorf("%s: capability %q is in no catalog%s The catalog has %s; a catalog file (catalog: in the config) may define more",
					where, c, didYouMean(c, names), strings.Join(names, ", ")))
			}
		}
	}
	for i, m := range cfg.Models {
		check(fmt.Sprintf("models[%d] (%s)", i, m.Name), m.Capabilities)
	}
	for i, p := range cfg.Providers {
		for j, r := range p.CapabilitiesByPattern {
			check(fmt.Sprintf("providers[%d] (%s): capabilities_by_pattern[%d] (%s)", i, p.Name, j, r.Pattern), r.Capabilities)
		}
	}
	return errors.Join(errs...)
}

// buildPlanner builds the configured planner. When a model with capability
// "plan" is configured, the LLM planner asks it through gen, which the
// router answers once it is started.
func buildPlanner(cfg Config, cat *task.Catalog, mode string, gen *lateGenerator) (planner.Planner, error) {
	if mode == "" {
		mode = cfg.Planner.Mode
	}
	opts := []planner.Option{planner.WithLimits(cfg.TaskLimits())}
	if hasPlanModel(cfg) {
		lp, err := llm.New(gen, cat, llm.WithLimits(cfg.TaskLimits()))
		if err != nil {
			return nil, usageError{err.Error()}
		}
		opts = append(opts, planner.WithLLM(lp))
	}
	p, err := planner.New(mode, cat, opts...)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	return p, nil
}

// hasPlanModel: a configured model, or a provider's rule, gives some
// model capability plan.
func hasPlanModel(cfg Config) bool {
	for _, m := range cfg.Models {
		if m.Has(llm.Capability) {
			return true
		}
	}
	for _, p := range cfg.Providers {
		for _, r := range p.CapabilitiesByPattern {
			if slices.Contains(r.Capabilities, llm.Capability) {
				return true
			}
		}
	}
	return false
}

// lateGenerator lets the LLM planner, built before the router, call the
// router's Generate once it exists.
type lateGenerator struct{ r *router.Router }

func (g *lateGenerator) Generate(ctx context.Context, w task.Work, progress func(string)) (task.Output, error) {
	if g.r == nil {
		return task.Output{}, task.Errorf(task.CodeUnavailable, "the LLM planner needs a running router")
	}
	return g.r.Generate(ctx, w, progress)
}

// startApp starts what a command needs. On error everything started is closed.
func startApp(ctx context.Context, env *cliEnv, cfg Config, cat *task.Catalog, pl planner.Planner, gen *lateGenerator, parts appParts) (*app, error) {
	a := &app{gen: gen, cfg: cfg, getenv: env.getenv, log: newLogger(env, cfg.Log.Level, cfg.Log.Format), catalog: cat, planner: pl}
	if err := a.startTelemetry(ctx, parts); err != nil {
		return nil, err
	}
	served, err := a.servedModels(parts)
	if err != nil {
		a.close()
		return nil, usageError{err.Error()}
	}
	if err := a.startBus(ctx, parts); err != nil {
		a.close()
		return nil, err
	}
	if err := a.openArtifacts(ctx, parts.router); err != nil {
		a.close()
		return nil, err
	}
	if a.reg, err = a.openRegistry(ctx); err != nil {
		a.close()
		var ue usageError
		if errors.As(err, &ue) {
			return nil, err
		}
		return nil, unavailableError{err}
	}
	if parts.executors {
		tools, err := a.serveTools(ctx, parts)
		if err != nil {
			a.close()
			return nil, err
		}
		served = append(served, tools...)
	}
	if len(served) > 0 {
		if err := a.startExecutors(ctx, served); err != nil {
			a.close()
			return nil, err
		}
	}
	if err := a.startDiscovery(ctx, parts); err != nil {
		a.close()
		return nil, err
	}
	if a.metrics != nil && (len(a.execs) > 0 || a.fleet != nil) {
		a.metrics.WatchExecutor(processLoad{a})
	}
	if c := cfg.HTTP.Console; parts.console && c.Enabled && cfg.HTTP.Addr != "" {
		a.console = console.New(console.Config{MaxRequests: c.Requests, Window: c.Window})
	}
	if parts.router {
		if err := a.liveCatalog(parts); err != nil {
			a.close()
			return nil, err
		}
		if a.memory, a.cache, err = a.openMemory(ctx); err != nil {
			a.close()
			return nil, err
		}
		if err := a.startRouter(); err != nil {
			a.close()
			return nil, err
		}
	}
	return a, nil
}

// startBus connects to NATS, or embeds it. A router's connections use the
// routers' own inbox prefix, which only the router role may read.
func (a *app) startBus(ctx context.Context, parts appParts) error {
	inbox := ""
	if parts.router {
		inbox = bus.RouterInboxPrefix
	}
	bc, err := busConfig(a.cfg, a.getenv, inbox, a.log)
	if err != nil {
		return err
	}
	b, err := bus.Start(ctx, bc)
	if err != nil {
		return storeLockedError(err)
	}
	a.bus = b
	return nil
}

func (a *app) startExecutors(ctx context.Context, served []executors.Served) error {
	nc, err := a.bus.Connect("executor")
	if err != nil {
		return unavailableError{err}
	}
	cfg := executors.Config{Models: served, Announcer: a.reg, Logger: a.log, Version: serviceVersion(),
		MaxQueue: a.cfg.Executor.Queue, QueueWait: a.cfg.Executor.QueueWait,
		Metrics: a.executorMetrics(), Tracer: a.tracer()}
	if a.artifacts != nil {
		cfg.Artifacts = a.artifacts
	}
	ex, err := executors.Start(ctx, nc, cfg)
	if te := task.AsError(err); te != nil && te.Code == task.CodeInvalidRequest {
		return usageError{fmt.Sprintf("starting executors: %v", te.Message)}
	}
	if err != nil {
		return unavailableError{fmt.Errorf("starting executors: %w", err)}
	}
	a.execs = append(a.execs, ex)
	return nil
}

func (a *app) startRouter() error {
	nc, err := a.bus.Connect("router")
	if err != nil {
		return unavailableError{err}
	}
	rc := a.cfg.Router
	var observe func(task.Event)
	if a.console != nil {
		observe = a.console.Observe
	}
	cfg := router.Config{
		Limits: a.cfg.TaskLimits(), Catalog: a.catalog, Catalogs: a.catalogs, Attempts: rc.Attempts,
		SubtaskTimeout: rc.SubtaskTimeout, RequestTimeout: rc.RequestTimeout,
		AcceptTimeout: rc.AcceptTimeout, LostAfter: rc.LostAfter, MaxRounds: a.cfg.Planner.MaxRounds, Logger: a.log,
		AllEvents: rc.Events == "all", Version: serviceVersion(), Metrics: a.routerMetrics(), Tracer: a.tracer(), Observe: observe,
		Memory: a.routerMemory(), Cache: a.cache,
	}
	if a.artifacts != nil {
		cfg.Artifacts = a.artifacts // never a typed nil
	}
	a.router, err = router.New(nc, a.reg, a.planner, cfg)
	if err == nil && a.metrics != nil {
		a.metrics.WatchModels(a.reg)
	}
	if err == nil && a.gen != nil {
		a.gen.r = a.router
	}
	return err
}

// close drains executors (finishing their work), closes the router, the
// registry and the bus. It is safe on a partly started app.
func (a *app) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a.stopDiscovery(ctx)
	for _, ex := range a.execs {
		if err := ex.Drain(ctx); err != nil {
			a.log.Warn("draining executor", "err", err)
		}
	}
	a.closeTools()
	if a.router != nil {
		_ = a.router.Close()
	}
	if a.reg != nil {
		_ = a.reg.Close()
	}
	for i := len(a.closers) - 1; i >= 0; i-- {
		_ = a.closers[i]()
	}
	if a.bus != nil {
		if err := a.bus.Close(); err != nil && !errors.Is(err, bus.ErrClosed) {
			a.log.Warn("closing NATS", "err", err)
		}
	}
	a.stopTracing()
}
