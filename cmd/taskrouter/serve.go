package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

func runServe(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "serve", "", "Runs until SIGINT or SIGTERM: NATS (embedded unless nats.url is set), the executors this process\n"+
		"serves (config 'executors'; default every built-in and configured model, the models the config's\n"+
		"providers list, and, without --config, those of an Ollama at OLLAMA_HOST; see --no-discover), the\n"+
		"router answering requests on tr.v1.req with Response JSON, and the HTTP API on http.addr with the web\n"+
		"console at /console (http.console) and the MCP server at /mcp (http.mcp). On a signal it stops taking\n"+
		"requests, finishes those in flight and drains its executors. The embedded server keeps jobs and\n"+
		"webhook ids in a data directory, locked while serve runs, so they outlive a restart.")
	var c commonFlags
	c.register(fs)
	c.registerDiscover(fs)
	dataDir := fs.String("data-dir", "", "`directory` of the embedded NATS server's state (default: nats.store_dir, else\n"+
		"$XDG_STATE_HOME/taskrouter, else ~/.local/state/taskrouter); not with nats.url")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	p, err := loadPlanning(env, c)
	if err != nil {
		return err
	}
	if p.cfg.NATS.StoreDir, err = serveDataDir(p.cfg, *dataDir, env.getenv); err != nil {
		return err
	}
	a, err := p.startWith(ctx, env, appParts{metrics: p.cfg.Metrics.Enabled, console: true})
	if err != nil {
		return err
	}
	defer a.close()
	stop, err := a.router.Serve(context.WithoutCancel(ctx))
	if err != nil {
		return unavailableError{err}
	}
	stopJobs, err := a.startJobs(context.WithoutCancel(ctx))
	if err != nil {
		stop()
		return err
	}
	stopHTTP, err := a.startHTTP(context.WithoutCancel(ctx))
	if err != nil {
		_ = stopJobs(context.Background())
		stop()
		return err
	}
	httpDesc := "off"
	if a.httpAddr != "" {
		httpDesc = "http://" + a.httpAddr + "/v1"
		if a.console != nil {
			httpDesc += ", console http://" + a.httpAddr + "/console"
		}
		if a.cfg.HTTP.MCP.Enabled {
			httpDesc += ", MCP http://" + a.httpAddr + "/mcp"
		}
	}
	fmt.Fprintf(env.stderr, "taskrouter serving: NATS %s, registry %s, models [%s]; requests on tr.v1.req%s; HTTP API %s\n",
		a.natsDescription(), a.registryDescription(), strings.Join(a.servedNames(), ", "), a.durableDescription(), httpDesc)
	if note := a.discoveryNote(); note != "" {
		fmt.Fprintln(env.stderr, "taskrouter: "+note)
	}
	<-ctx.Done()
	fmt.Fprintln(env.stderr, "taskrouter: stopping; finishing requests in flight")
	shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := stopHTTP(shutdown); err != nil {
		fmt.Fprintf(env.stderr, "taskrouter: stopping HTTP: %v\n", err)
	}
	if err := stopJobs(shutdown); err != nil {
		fmt.Fprintf(env.stderr, "taskrouter: stopping jobs: %v\n", err)
	}
	stop()
	return nil
}

func (a *app) natsDescription() string {
	switch {
	case !a.bus.Embedded():
		return a.cfg.NATS.URL
	case a.bus.ClientURL() != "":
		return "embedded, listening on " + a.bus.ClientURL() + ", state in " + a.cfg.NATS.StoreDir
	}
	return "embedded (in-process only; set nats.listen to let other machines join), state in " + a.cfg.NATS.StoreDir
}

func (a *app) registryDescription() string {
	if a.cfg.Redis.URL == "" {
		return "in memory"
	}
	return "redis"
}

func (a *app) servedNames() []string {
	var names []string
	for _, ex := range a.execs {
		names = append(names, ex.Models()...)
	}
	if a.fleet != nil {
		names = append(names, a.fleet.Models()...)
	}
	return names
}

func (a *app) durableDescription() string {
	if a.jobs == nil || a.jobs.durable == nil {
		return ""
	}
	return ", durable requests on tr.v1.jobs[.<producer>]"
}
