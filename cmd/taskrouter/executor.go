package main

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/taskrouter/taskrouter/telemetry"
)

func runExecutor(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "executor", "", "Serves models for routers on the same NATS and registry, from any machine, until SIGINT or\n"+
		"SIGTERM. On SIGTERM it stops taking subtasks, finishes those in flight, deregisters and exits 0.")
	config := fs.String("config", "", "configuration `file` (YAML); its models and nats/redis settings apply")
	natsURL := fs.String("nats", "", "NATS `URL`(s), comma-separated (overrides nats.url)")
	redisURL := fs.String("redis", "", "Redis `URL` of the shared registry (overrides redis.url)")
	models := fs.String("models", "", "comma-separated model `names` to serve (default: the config's executors, else all)")
	tools := fs.String("tools", "", "comma-separated tool server `names` of the config's tools to serve, each as model mcp/<name>\n"+
		"(default: none when --models is given; else those the config's executors list, else all)")
	metricsAddr := fs.String("metrics-addr", "", "serve Prometheus metrics at GET /metrics on this `host:port` (default: none)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	// Validated once the flags apply: --nats turns an embedded setup into a login.
	cfg, err := LoadConfig(*config)
	if err != nil {
		return usageError{err.Error()}
	}
	cfg.ApplyEnv(env.getenv)
	if *natsURL != "" {
		cfg.NATS.URL, cfg.NATS.Listen = *natsURL, ""
	}
	if *redisURL != "" {
		cfg.Redis.URL = *redisURL
	}
	if err := cfg.Validate(); err != nil {
		return usageError{fmt.Sprintf("invalid config: %v", err)}
	}
	if cfg.NATS.URL == "" {
		return usageError{"an executor joins routers elsewhere: give --nats URL (or nats.url)"}
	}
	if cfg.Redis.URL == "" {
		return usageError{"routers find executors through the shared registry: give --redis URL (or redis.url)"}
	}
	if _, err := buildCatalog(cfg, nil); err != nil {
		return err // a model capability no catalog defines
	}
	if *metricsAddr != "" {
		if _, _, err := net.SplitHostPort(*metricsAddr); err != nil {
			return usageError{fmt.Sprintf("--metrics-addr %q is not host:port such as 127.0.0.1:9464", *metricsAddr)}
		}
	}
	parts := appParts{executors: true, metrics: *metricsAddr != "", service: telemetry.ServiceExecutor}
	if *models != "" {
		parts.models, parts.tools = strings.Split(*models, ","), []string{}
	}
	if *tools != "" {
		parts.tools = strings.Split(*tools, ",")
		if *models == "" {
			parts.models = []string{}
		}
	}
	a, err := startApp(ctx, env, cfg, nil, nil, nil, parts)
	if err != nil {
		return err
	}
	metricsDesc := ""
	if *metricsAddr != "" {
		addr, err := a.serveMetrics(ctx, *metricsAddr)
		if err != nil {
			a.close()
			return err
		}
		metricsDesc = "; metrics on http://" + addr + "/metrics"
	}
	fmt.Fprintf(env.stderr, "taskrouter executor serving [%s] on %s%s\n", strings.Join(a.servedNames(), ", "), cfg.NATS.URL, metricsDesc)
	<-ctx.Done()
	fmt.Fprintln(env.stderr, "taskrouter executor: draining")
	a.close()
	return nil
}
