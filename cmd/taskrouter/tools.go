package main

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/taskrouter/taskrouter/adapters/mcp/client"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/planner"
	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/task"
)

// ToolConfig is one MCP server whose tools taskrouter serves: a command
// speaking MCP over stdio, or a streamable HTTP url. Values in env and
// headers may name environment variables as ${NAME}; secrets go there,
// never in the file.
type ToolConfig struct {
	Name        string            `yaml:"name"`
	Command     []string          `yaml:"command"`
	Env         map[string]string `yaml:"env"`
	URL         string            `yaml:"url"`
	Headers     map[string]string `yaml:"headers"`
	Concurrency int               `yaml:"concurrency"`
	Timeout     time.Duration     `yaml:"timeout"`
}

func (c *Config) validateTools(bad func(string, ...any)) {
	seen := map[string]bool{}
	for i, t := range c.Tools {
		where := fmt.Sprintf("tools[%d] (%s)", i, t.Name)
		if err := client.CheckServerName(t.Name); err != nil {
			bad("%s: %v", where, err)
		}
		if seen[t.Name] {
			bad("%s: the name is used twice", where)
		}
		seen[t.Name] = true
		switch {
		case len(t.Command) > 0 && t.URL != "":
			bad("%s: give command (stdio) or url (streamable HTTP), not both", where)
		case len(t.Command) == 0 && t.URL == "":
			bad("%s: give command, such as [npx, -y, \"@modelcontextprotocol/server-everything\"], or url", where)
		case len(t.Command) > 0 && t.Command[0] == "":
			bad("%s: command's program is empty", where)
		case t.URL != "":
			if u, err := url.Parse(t.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				bad("%s: url %q must be an http(s) URL such as https://mcp.example.com/mcp", where, t.URL)
			}
			if len(t.Env) > 0 {
				bad("%s: env is for a command's process; an HTTP server takes headers", where)
			}
		}
		if len(t.Command) > 0 && len(t.Headers) > 0 {
			bad("%s: headers are for an HTTP server; a command takes env", where)
		}
		for k := range t.Env {
			if !envName.MatchString(k) {
				bad("%s: env %q is not a variable name", where, k)
			}
		}
		if t.Concurrency < 0 || t.Timeout < 0 {
			bad("%s: concurrency and timeout must not be negative", where)
		}
	}
}

// expand replaces ${NAME} with the variable's value; an unset or empty one
// is an error naming it, so that a missing token is said at start instead
// of as a 401 from the server later.
func expand(where, value string, getenv func(string) string) (string, error) {
	var missing []string
	out := os.Expand(value, func(name string) string {
		v := getenv(name)
		if v == "" {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", usageError{fmt.Sprintf("%s names ${%s}, which is unset or empty; set it in the environment", where, strings.Join(missing, "}, ${"))}
	}
	return out, nil
}

// toolClientConfig resolves a tool server's config for the MCP client:
// its variables from the environment, a stdio server's environment the
// base one plus its own.
func toolClientConfig(t ToolConfig, getenv func(string) string) (client.Config, error) {
	cc := client.Config{Name: t.Name, Command: t.Command, URL: t.URL, Concurrency: t.Concurrency, CallTimeout: t.Timeout}
	if len(t.Command) > 0 {
		cc.Env = client.BaseEnv(getenv)
		for _, k := range slices.Sorted(maps.Keys(t.Env)) {
			v, err := expand(fmt.Sprintf("tools (%s): env.%s", t.Name, k), t.Env[k], getenv)
			if err != nil {
				return cc, err
			}
			cc.Env = append(cc.Env, k+"="+v)
		}
	}
	if len(t.Headers) > 0 {
		cc.Header = http.Header{}
		for _, k := range slices.Sorted(maps.Keys(t.Headers)) {
			v, err := expand(fmt.Sprintf("tools (%s): headers.%s", t.Name, k), t.Headers[k], getenv)
			if err != nil {
				return cc, err
			}
			cc.Header.Set(k, v)
		}
	}
	return cc, nil
}

// toolNames are the tool servers a process serves: the names given,
// else those the config's executors list as mcp/<name>, else all.
func toolNames(cfg Config, given []string) ([]string, error) {
	var all []string
	for _, t := range cfg.Tools {
		all = append(all, t.Name)
	}
	switch {
	case given != nil:
		for _, n := range given {
			if !slices.Contains(all, n) {
				return nil, usageError{fmt.Sprintf("--tools: %q is no tool server of the config's tools (%s)", n, strings.Join(all, ", "))}
			}
		}
		return given, nil
	case cfg.Executors != nil:
		var out []string
		for _, n := range all {
			if slices.Contains(cfg.Executors, client.ModelName(n)) {
				out = append(out, n)
			}
		}
		return out, nil
	}
	return all, nil
}

// startTools starts the clients of the tool servers this process serves.
func (a *app) startTools(ctx context.Context, names []string) ([]executors.Served, error) {
	var out []executors.Served
	for _, t := range a.cfg.Tools {
		if !slices.Contains(names, t.Name) {
			continue
		}
		c, err := startToolClient(ctx, t, a.getenv, a)
		if err != nil {
			return nil, err
		}
		a.tools = append(a.tools, c)
		out = append(out, executors.Served{Spec: c.Spec(), Model: c})
	}
	return out, nil
}

func startToolClient(ctx context.Context, t ToolConfig, getenv func(string) string, a *app) (*client.Client, error) {
	cc, err := toolClientConfig(t, getenv)
	if err != nil {
		return nil, err
	}
	cc.Logger = a.log
	c, err := client.Start(ctx, cc)
	if err != nil {
		return nil, unavailableError{fmt.Errorf("starting tool server %s: %w", t.Name, err)}
	}
	return c, nil
}

// closeTools stops the tool servers, after the executors drained.
func (a *app) closeTools() {
	for _, c := range a.tools {
		_ = c.Close()
	}
	a.tools = nil
}

// withTools adds the tools of the config's servers to a catalog, starting
// each server to list them and stopping it: for the commands that serve
// nothing (plan, capabilities).
func withTools(ctx context.Context, env *cliEnv, cfg Config, cat *task.Catalog) (*task.Catalog, error) {
	if len(cfg.Tools) == 0 {
		return cat, nil
	}
	a := &app{cfg: cfg, getenv: env.getenv, log: newLogger(env, cfg.Log.Level, cfg.Log.Format)}
	defer a.closeTools()
	var specs []task.ModelSpec
	for _, t := range cfg.Tools {
		c, err := startToolClient(ctx, t, env.getenv, a)
		if err != nil {
			return nil, err
		}
		a.tools = append(a.tools, c)
		specs = append(specs, c.Spec())
	}
	out, skipped := cat.WithDefined(specs)
	for _, err := range skipped {
		a.log.Warn("leaving a tool out of the catalog", "reason", err.Error())
	}
	return out, nil
}

// serveTools starts the tool servers this process serves.
func (a *app) serveTools(ctx context.Context, parts appParts) ([]executors.Served, error) {
	names, err := toolNames(a.cfg, parts.tools)
	if err != nil || len(names) == 0 {
		return nil, err
	}
	return a.startTools(ctx, names)
}

// liveCatalog makes the router's catalog and planner follow the tools
// that live executors, here or on other machines, serve.
func (a *app) liveCatalog(parts appParts) error {
	defining, ok := a.reg.(registry.DefiningLister)
	if !ok || a.catalog == nil {
		return nil
	}
	live := registry.NewLiveCatalog(a.catalog, defining, a.log)
	a.catalogs = live.Current
	if parts.plannerFor == nil {
		return nil
	}
	pl, err := planner.NewLive(live.Current, parts.plannerFor)
	if err != nil {
		return err
	}
	a.planner = pl
	return nil
}

// isTool reports whether a model name is a configured tool server's.
func (a *app) isTool(model string) bool {
	name, ok := strings.CutPrefix(model, client.ModelPrefix)
	return ok && slices.ContainsFunc(a.cfg.Tools, func(t ToolConfig) bool { return t.Name == name })
}
