package main

import (
	"context"
	"fmt"
	"strings"

	mcpserver "github.com/taskrouter/taskrouter/adapters/mcp/server"
	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/task"
)

func runMCP(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "mcp", "", "Serves taskrouter as an MCP server on standard input and output, for agent hosts such as\n"+
		"Claude Desktop and IDEs: tools ask (plan, run and answer a request, with a progress notification\n"+
		"per subtask step; cancelling the call cancels the request), plan and models. Like ask, it starts\n"+
		"an embedded NATS, the built-in executors and a router in this process; with --nats it sends the\n"+
		"requests to a running router instead. Logs go to standard error. serve offers the same tools\n"+
		"over HTTP at /mcp.")
	var c commonFlags
	c.register(fs)
	c.registerDiscover(fs)
	natsURL := fs.String("nats", "", "send the requests to a running router at this NATS `URL` instead")
	redisURL := fs.String("redis", "", "with --nats: the routers' shared registry (Redis `URL`), which the models tool lists")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Sprintf("mcp takes no arguments, got %q; the requests come from the MCP client", strings.Join(rest, " "))}
	}
	if *redisURL != "" && *natsURL == "" {
		return usageError{"--redis goes with --nats; without --nats, mcp runs its own router and registry (redis.url in --config shares them)"}
	}
	p, err := loadPlanning(env, c)
	if err != nil {
		return err
	}
	if *natsURL != "" {
		return mcpRemote(ctx, env, p, *natsURL, *redisURL)
	}
	a, err := p.start(ctx, env)
	if err != nil {
		return err
	}
	defer a.close()
	srv, err := mcpserver.New(a.mcpConfig(a.router, a.planner, a.reg))
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stderr, "taskrouter mcp: serving MCP on stdio; NATS %s, registry %s, models [%s]\n",
		a.mcpNATSDescription(), a.registryDescription(), strings.Join(a.servedNames(), ", "))
	return srv.ServeStdio(ctx, env.stdin, env.stdout)
}

// mcpRemote serves MCP on stdio for a router on another machine: ask
// goes to it over tr.v1.req, plan runs this process's planner (the
// config's), and models reads the shared registry when there is one.
func mcpRemote(ctx context.Context, env *cliEnv, p planning, url, redisURL string) error {
	r, closeRemote, err := dialRouter(ctx, env, p.cfg, url)
	if err != nil {
		return err
	}
	defer closeRemote()
	a := &app{cfg: p.cfg, getenv: env.getenv, log: newLogger(env, p.cfg.Log.Level, p.cfg.Log.Format), catalog: p.cat, planner: p.pl}
	if redisURL != "" {
		a.cfg.Redis.URL = redisURL
	}
	models := mcpserver.ModelLister(noRegistry{url})
	if a.cfg.Redis.URL != "" {
		if a.reg, err = a.openRegistry(ctx); err != nil {
			return unavailableError{err}
		}
		defer a.reg.Close()
		models = a.reg
	}
	srv, err := mcpserver.New(a.mcpConfig(r, p.pl, models))
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stderr, "taskrouter mcp: serving MCP on stdio; requests go to the router at %s\n", url)
	return srv.ServeStdio(ctx, env.stdin, env.stdout)
}

// mcpNATSDescription says where this process's NATS is; unlike serve's,
// an embedded one keeps its state in a temporary directory, as ask's.
func (a *app) mcpNATSDescription() string {
	switch {
	case !a.bus.Embedded():
		return a.cfg.NATS.URL
	case a.bus.ClientURL() != "":
		return "embedded, listening on " + a.bus.ClientURL()
	}
	return "embedded, in-process"
}

// mcpConfig is the MCP server's config in this process.
func (a *app) mcpConfig(runner mcpserver.Runner, planner mcpserver.Planner, models mcpserver.ModelLister) mcpserver.Config {
	return mcpserver.Config{Runner: runner, Planner: planner, Models: models, Catalog: a.catalog, Limits: a.cfg.TaskLimits(),
		Version: serviceVersion(), SessionTimeout: a.cfg.HTTP.MCP.SessionTimeout, MaxBodyBytes: a.cfg.HTTP.MaxBodyBytes,
		Logger: a.log, Tracer: a.tracer()}
}

// noRegistry answers the models tool of `mcp --nats` without a shared
// registry: the remote router's own is in its memory.
type noRegistry struct{ url string }

func (n noRegistry) Models(context.Context) ([]registry.ModelState, error) {
	return nil, task.Errorf(task.CodeUnavailable, "this MCP server sends requests to the router at %s and has no registry to read: "+
		"start taskrouter mcp with --redis URL (the routers' redis.url), or use the MCP server of the router itself at http://<its http.addr>/mcp", n.url)
}
