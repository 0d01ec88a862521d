package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/task"
)

func runModels(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "models", "", "Lists models with their capabilities, live replicas, in-flight subtasks, latency and state.\n"+
		"With a Redis registry (redis.url or --redis) it shows what every executor announced; on the\n"+
		"embedded default it shows the models this process would serve, the providers' discovered ones\n"+
		"included. SOURCE says where each comes from: built-in, config, or discovered:<provider>.")
	config := fs.String("config", "", "configuration `file` (YAML)")
	redisURL := fs.String("redis", "", "Redis `URL` of a shared registry to read")
	jsonOut := fs.Bool("json", false, "print the models as JSON")
	noDiscover := fs.Bool("no-discover", false, "without --config, do not look for an Ollama at OLLAMA_HOST (default 127.0.0.1:11434)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(env, *config)
	if err != nil {
		return err
	}
	if *redisURL != "" {
		cfg.Redis.URL = *redisURL
	}
	parts := appParts{executors: cfg.Redis.URL == "", discover: *config == "" && !*noDiscover}
	a, err := startApp(ctx, env, cfg, nil, nil, nil, parts)
	if err != nil {
		return err
	}
	defer a.close()
	states, err := a.reg.Models(ctx)
	var stale *registry.StaleError
	switch {
	case errors.As(err, &stale):
		fmt.Fprintf(env.stderr, "taskrouter: Redis is unreachable; this is the registry's last snapshot, as of %s\n", stale.Since.Format(time.RFC3339))
	case err != nil:
		return unavailableError{fmt.Errorf("listing models: %w", err)}
	}
	if *jsonOut {
		return writeJSON(env.stdout, states)
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tBACKEND\tCAPABILITIES\tREPLICAS\tIN-FLIGHT\tLATENCY\tSTATE\tSOURCE")
	for _, s := range states {
		state := s.State
		if !s.CooldownUntil.IsZero() && s.CooldownUntil.After(time.Now()) {
			state += fmt.Sprintf(" (%s left)", time.Until(s.CooldownUntil).Round(time.Second))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%.0fms\t%s\t%s\n", s.Spec.Name, s.Spec.Backend, strings.Join(s.Spec.Capabilities, ","),
			len(s.Replicas), s.InFlight, s.LatencyEWMAms, state, modelSource(s.Spec))
	}
	return tw.Flush()
}

// modelSource says where a model comes from: built in, the config, or a
// provider's list. It is the last column and holds no space, so that
// scripts splitting the table on whitespace keep their column numbers.
func modelSource(spec task.ModelSpec) string {
	switch {
	case spec.Provider != "":
		return "discovered:" + spec.Provider
	case spec.Backend == task.BackendLocal:
		return "built-in"
	}
	return "config"
}
