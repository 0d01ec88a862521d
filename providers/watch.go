package providers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sort"
	"sync"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// DefaultProbeTimeout bounds the first contact with an optional provider,
// so that looking for an Ollama that is not running costs no noticeable
// time.
const DefaultProbeTimeout = 300 * time.Millisecond

// Sink serves the models a Watcher discovers. The Watcher calls it from
// one goroutine at a time.
type Sink interface {
	// Serve starts serving a discovered model, or serves it anew under a
	// changed spec.
	Serve(ctx context.Context, spec task.ModelSpec) error
	// Withdraw stops serving a model its provider no longer lists.
	Withdraw(ctx context.Context, name string) error
}

// Prober is a Lister that can tell quickly whether its server answers.
type Prober interface {
	Probe(ctx context.Context) error
}

// Source is one provider and the Lister of its kind.
type Source struct {
	Config Config
	Lister Lister
	// Optional marks a provider that may well be absent, such as the
	// Ollama looked for when there is no config: each listing starts with
	// a probe bounded by WatcherConfig.ProbeTimeout when the Lister is a
	// Prober, and failures are logged at debug level, not as warnings.
	Optional bool
}

// WatcherConfig configures a Watcher. Sources and Sink are required.
type WatcherConfig struct {
	Sources   []Source
	Inference Inference
	Sink      Sink
	// Exclude leaves out a discovered model that the process has already,
	// saying why: a configured model of the same name, or one called at
	// the same base URL with the same upstream model. Nil excludes none.
	Exclude func(task.ModelSpec) (reason string, excluded bool)
	// ProbeTimeout bounds the probe of an optional source (default
	// DefaultProbeTimeout).
	ProbeTimeout time.Duration
	Logger       *slog.Logger
}

// Watcher keeps the models of providers registered: Sync lists them once,
// Start refreshes each provider at its interval until Stop.
type Watcher struct {
	cfg     WatcherConfig
	sources []*sourceState
	apply   sync.Mutex // one change to the Sink at a time

	stopOnce sync.Once
	cancel   context.CancelFunc
	loops    sync.WaitGroup
}

// sourceState is what a Watcher knows of one provider; apply guards it.
type sourceState struct {
	Source
	served  map[string]task.ModelSpec
	failing bool
}

// NewWatcher returns a Watcher over the sources, or an error when the
// config lacks a Sink or a Lister, or names a provider twice.
func NewWatcher(cfg WatcherConfig) (*Watcher, error) {
	if cfg.Sink == nil {
		return nil, errors.New("providers: the watcher needs a Sink")
	}
	if cfg.ProbeTimeout <= 0 {
		cfg.ProbeTimeout = DefaultProbeTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	w := &Watcher{cfg: cfg, cancel: func() {}}
	seen := map[string]bool{}
	for _, s := range cfg.Sources {
		if s.Lister == nil {
			return nil, fmt.Errorf("providers: provider %q has no lister", s.Config.Name)
		}
		if seen[s.Config.Name] {
			return nil, fmt.Errorf("providers: provider %q is listed twice", s.Config.Name)
		}
		seen[s.Config.Name] = true
		s.Config = s.Config.WithDefaults()
		w.sources = append(w.sources, &sourceState{Source: s, served: map[string]task.ModelSpec{}})
	}
	return w, nil
}

// Sync lists every provider once, all at the same time, and serves or
// withdraws what changed. It returns when every listing is done, with the
// failures of the providers that are not optional, joined; a provider
// that failed keeps the models it had.
func (w *Watcher) Sync(ctx context.Context) error {
	errs := make([]error, len(w.sources))
	var wg sync.WaitGroup
	for i, s := range w.sources {
		wg.Go(func() {
			if err := w.refresh(ctx, s); err != nil && !s.Optional {
				errs[i] = err
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Start refreshes each provider every Config.Refresh in the background,
// until Stop. Call it at most once.
func (w *Watcher) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	for _, s := range w.sources {
		w.loops.Go(func() { w.loop(ctx, s) })
	}
}

// Stop ends the refreshes and waits for them. The models stay served:
// the process's shutdown drains them with the rest. Stop is idempotent.
func (w *Watcher) Stop() {
	w.stopOnce.Do(func() {
		w.cancel()
		w.loops.Wait()
	})
}

func (w *Watcher) loop(ctx context.Context, s *sourceState) {
	t := time.NewTicker(s.Config.Refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = w.refresh(ctx, s) // logged; the next tick tries again
		}
	}
}

// Served returns the specs of the models served now, sorted by name.
func (w *Watcher) Served() []task.ModelSpec {
	w.apply.Lock()
	defer w.apply.Unlock()
	var out []task.ModelSpec
	for _, s := range w.sources {
		for _, spec := range s.served {
			out = append(out, spec)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// refresh lists one provider and applies the list.
func (w *Watcher) refresh(ctx context.Context, s *sourceState) error {
	listings, err := w.list(ctx, s)
	if err != nil {
		if ctx.Err() == nil { // a stopping watcher's cut listing is no failure
			w.noteFailure(s, err)
		}
		return err
	}
	w.apply.Lock()
	defer w.apply.Unlock()
	if s.failing {
		s.failing = false
		w.cfg.Logger.Info("provider answers again", "provider", s.Config.Name)
	}
	w.applyList(ctx, s, w.cfg.Inference.Specs(s.Config, listings))
	return nil
}

func (w *Watcher) list(ctx context.Context, s *sourceState) ([]Listing, error) {
	if p, ok := s.Lister.(Prober); ok && s.Optional {
		pctx, cancel := context.WithTimeout(ctx, w.cfg.ProbeTimeout)
		err := p.Probe(pctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("provider %s: %w", s.Config.Name, err)
		}
	}
	listings, err := s.Lister.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("provider %s: %w", s.Config.Name, err)
	}
	return listings, nil
}

// noteFailure logs a provider's failure once as a warning (at debug for
// an optional one, or while it keeps failing).
func (w *Watcher) noteFailure(s *sourceState, err error) {
	w.apply.Lock()
	first, models := !s.failing, len(s.served)
	s.failing = true
	w.apply.Unlock()
	level := slog.LevelWarn
	if s.Optional || !first {
		level = slog.LevelDebug
	}
	w.cfg.Logger.Log(context.Background(), level, "listing a provider's models failed; keeping the models it had",
		"provider", s.Config.Name, "models", models, "err", err)
}

// applyList withdraws the models no longer listed and serves the new and
// the changed ones. It needs w.apply held.
func (w *Watcher) applyList(ctx context.Context, s *sourceState, specs []task.ModelSpec) {
	next := make(map[string]task.ModelSpec, len(specs))
	for _, spec := range specs {
		if w.cfg.Exclude != nil {
			if reason, excluded := w.cfg.Exclude(spec); excluded {
				w.cfg.Logger.Debug("discovered model left out", "model", spec.Name, "reason", reason)
				continue
			}
		}
		next[spec.Name] = spec
	}
	for _, name := range sortedNames(s.served) {
		if _, ok := next[name]; ok {
			continue
		}
		if err := w.cfg.Sink.Withdraw(ctx, name); err != nil {
			w.cfg.Logger.Warn("withdrawing a model its provider no longer lists", "model", name, "err", err)
		}
		delete(s.served, name)
		w.cfg.Logger.Info("model withdrawn: its provider no longer lists it", "provider", s.Config.Name, "model", name)
	}
	for _, name := range sortedNames(next) {
		spec := next[name]
		if old, ok := s.served[name]; ok && reflect.DeepEqual(old, spec) {
			continue
		}
		if err := w.cfg.Sink.Serve(ctx, spec); err != nil {
			w.cfg.Logger.Warn("serving a discovered model", "model", name, "err", err)
			continue
		}
		s.served[name] = spec
		w.cfg.Logger.Info("model discovered", "provider", s.Config.Name, "model", name, "capabilities", spec.Capabilities, "context_window", spec.ContextWindow)
	}
}

func sortedNames(m map[string]task.ModelSpec) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
