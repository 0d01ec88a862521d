package main

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/taskrouter/taskrouter/adapters/openai"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/localmodel"
	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/task"
)

// ExecutorConfig is the admission of the models this process serves: how
// many subtasks per model may wait for a free slot, and for how long,
// before they are answered overloaded with retry_after_ms.
type ExecutorConfig struct {
	Queue     int           `yaml:"queue"`
	QueueWait time.Duration `yaml:"queue_wait"`
}

func defaultExecutorConfig() ExecutorConfig {
	return ExecutorConfig{Queue: executors.DefaultMaxQueue, QueueWait: executors.DefaultQueueWait}
}

func (c ExecutorConfig) validate(bad func(string, ...any)) {
	if c.Queue < 1 {
		bad("executor.queue: %d must be at least 1, such as %d", c.Queue, executors.DefaultMaxQueue)
	}
	if c.QueueWait <= 0 {
		bad("executor.queue_wait: must be a positive duration such as %s", executors.DefaultQueueWait)
	}
}

// defaultRemoteConcurrency is what one executor runs at once of a remote
// model whose spec sets no concurrency: a remote API serves many requests
// at once, so a plan's parallel steps on one model run in parallel.
const defaultRemoteConcurrency = 64

// withDefaultConcurrency gives a remote model with no concurrency the
// remote default; a built-in model's spec already fits the CPUs.
func withDefaultConcurrency(m task.ModelSpec) task.ModelSpec {
	if m.Concurrency == 0 && m.Backend == task.BackendOpenAI {
		m.Concurrency = defaultRemoteConcurrency
	}
	return m
}

// modelSpecs returns every model this config knows: the built-in local
// models, with configured entries of the same name replacing them, then the
// other configured models, in order.
func modelSpecs(cfg Config) ([]task.ModelSpec, error) {
	var specs []task.ModelSpec
	index := map[string]int{}
	for _, b := range localmodel.Builtins() {
		index[b.Spec.Name] = len(specs)
		specs = append(specs, b.Spec)
	}
	for _, m := range cfg.Models {
		m = withDefaultConcurrency(m)
		if m.Backend == task.BackendLocal {
			if _, ok := localmodel.Lookup(m.Name); !ok {
				return nil, fmt.Errorf("models: %q has backend local but is no built-in model; built-in models are %s",
					m.Name, strings.Join(builtinNames(), ", "))
			}
		}
		if i, ok := index[m.Name]; ok {
			specs[i] = m
			continue
		}
		index[m.Name] = len(specs)
		specs = append(specs, m)
	}
	return specs, nil
}

// providersHint names the providers an executors list may name too.
func providersHint(cfg Config) string {
	if len(cfg.Providers) == 0 {
		return ""
	}
	return "; providers are " + strings.Join(cfg.providerNames(), ", ")
}

func builtinNames() []string {
	var names []string
	for _, b := range localmodel.Builtins() {
		names = append(names, b.Spec.Name)
	}
	return names
}

// servedModels resolves the models this process serves and builds them.
func (a *app) servedModels(parts appParts) ([]executors.Served, error) {
	if !parts.executors {
		return nil, nil
	}
	specs, err := modelSpecs(a.cfg)
	if err != nil {
		return nil, err
	}
	byName := map[string]task.ModelSpec{}
	var all []string
	for _, s := range specs {
		byName[s.Name] = s
		all = append(all, s.Name)
	}
	names := all
	switch {
	case parts.models != nil:
		names = parts.models
	case a.cfg.Executors != nil:
		names = a.cfg.Executors
	}
	var out []executors.Served
	for _, name := range names {
		if a.isTool(name) {
			continue // served by serveTools
		}
		spec, ok := byName[name]
		if !ok && slices.Contains(a.cfg.providerNames(), name) {
			continue // a provider: its models are discovered
		}
		if !ok {
			sort.Strings(all)
			return nil, fmt.Errorf("executors: unknown model %q; known models are %s%s", name, strings.Join(all, ", "), providersHint(a.cfg))
		}
		m, err := a.buildModel(spec)
		if err != nil {
			return nil, err
		}
		out = append(out, executors.Served{Spec: spec, Model: m})
	}
	return out, nil
}

// buildModel makes the backend for a spec. Keys come from the environment
// variable the spec names, never from the config itself.
func (a *app) buildModel(spec task.ModelSpec) (executors.Model, error) {
	switch spec.Backend {
	case task.BackendLocal:
		b, _ := localmodel.Lookup(spec.Name)
		return b.New(), nil
	case task.BackendOpenAI:
		key := ""
		if spec.APIKeyEnv != "" {
			key = a.getenv(spec.APIKeyEnv)
			if key == "" {
				a.log.Warn("a model's API key variable is empty or unset; its calls fail with an auth error until it is set and taskrouter restarted",
					"model", spec.Name, "variable", spec.APIKeyEnv)
			}
		}
		var opts []openai.Option
		if t := a.tracer(); t != nil {
			opts = append(opts, openai.WithTracer(t))
		}
		m, err := openai.New(spec, key, opts...)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", spec.Name, err)
		}
		return m, nil
	}
	return nil, fmt.Errorf("model %s: backend %q must be local or openai", spec.Name, spec.Backend)
}

// openRegistry opens the registry: Redis when configured, memory otherwise.
func (a *app) openRegistry(ctx context.Context) (registry.Registry, error) {
	rc := a.cfg.Router
	opts := []registry.Option{registry.WithPolicy(rc.Policy), registry.WithLogger(a.log),
		registry.WithCooldown(rc.FailuresToCooldown, rc.Cooldown, rc.MaxCooldown)}
	if a.cfg.Redis.URL == "" {
		return registry.NewMemory(opts...), nil
	}
	// go-redis logs every failed dial during an outage; the registry logs
	// the outage once itself.
	redis.SetLogger(registry.GoRedisLogger{Logger: a.log})
	ro, err := redisOptions(a.cfg.Redis, a.getenv)
	if err != nil {
		return nil, err
	}
	r, err := registry.OpenRedisOptions(ctx, ro, opts...)
	if err != nil {
		return nil, err // not a typed nil, which close would call
	}
	return r, nil
}
