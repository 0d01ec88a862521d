package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"github.com/taskrouter/taskrouter/adapters/httpapi"
	"github.com/taskrouter/taskrouter/adapters/httpapi/jobs"
	"github.com/taskrouter/taskrouter/adapters/httpapi/kv"
	"github.com/taskrouter/taskrouter/adapters/httpapi/ratelimit"
	"github.com/taskrouter/taskrouter/adapters/httpapi/webhook"
	mcpserver "github.com/taskrouter/taskrouter/adapters/mcp/server"
)

// Environment variables of the HTTP ingress.
const (
	envAPIKeys         = "TASKROUTER_API_KEYS"
	envWebhookSecret   = "TASKROUTER_WEBHOOK_SECRET"
	envCallbackSecret  = "TASKROUTER_CALLBACK_SECRET"
	jobsBucket         = "taskrouter_jobs"
	webhooksBucket     = "taskrouter_webhooks"
	rateLimitKeyPrefix = "taskrouter:ratelimit:"
)

func defaultHTTPConfig() HTTPConfig {
	return HTTPConfig{
		Addr: "127.0.0.1:8080", MaxBodyBytes: 4 << 20,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second, KeepAlive: 10 * time.Second,
		Jobs: JobsConfig{Store: "auto", TTL: 24 * time.Hour, Workers: 16, Queue: 1024},
		Callbacks: CallbackConfig{SecretEnv: envCallbackSecret, MaxAttempts: 8, InitialBackoff: time.Second,
			MaxBackoff: 5 * time.Minute, Timeout: 15 * time.Second},
		CORS:    CORSConfig{MaxAge: 10 * time.Minute},
		Console: ConsoleConfig{Enabled: true, Requests: 200, Window: 15 * time.Minute},
		MCP:     MCPConfig{Enabled: true, SessionTimeout: 30 * time.Minute},
	}
}

var webhookName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// validateHTTP checks the http section and the webhooks.
func (c *Config) validateHTTP(bad func(string, ...any)) {
	h := c.HTTP
	if h.Addr != "" {
		if _, _, err := net.SplitHostPort(h.Addr); err != nil {
			bad("http.addr: %q is not host:port such as 127.0.0.1:8080", h.Addr)
		}
	}
	if h.MaxBodyBytes < 1 {
		bad("http.max_body_bytes: %d must be positive", h.MaxBodyBytes)
	}
	for name, d := range map[string]time.Duration{"read_timeout": h.ReadTimeout, "write_timeout": h.WriteTimeout,
		"idle_timeout": h.IdleTimeout, "keep_alive": h.KeepAlive, "callbacks.initial_backoff": h.Callbacks.InitialBackoff,
		"callbacks.max_backoff": h.Callbacks.MaxBackoff, "callbacks.timeout": h.Callbacks.Timeout, "mcp.session_timeout": h.MCP.SessionTimeout} {
		if d <= 0 {
			bad("http.%s: must be a positive duration such as 30s", name)
		}
	}
	if r := h.RateLimit; r.RequestsPerSecond < 0 || r.Burst < 0 || r.RequestsPerSecond > 0 && r.Burst < 1 {
		bad("http.rate_limit: requests_per_second must not be negative, and burst must be at least 1 when it is set")
	}
	if j := h.Jobs; j.Store != "auto" && j.Store != "jetstream" && j.Store != "memory" {
		bad("http.jobs.store: %q is not one of auto, jetstream, memory", j.Store)
	}
	if h.Jobs.TTL < 2*webhook.DefaultTolerance {
		bad("http.jobs.ttl: %s must be at least %s, as webhook ids are remembered as long", h.Jobs.TTL, 2*webhook.DefaultTolerance)
	}
	if h.Jobs.Workers < 1 || h.Jobs.Queue < 1 {
		bad("http.jobs: workers and queue must be at least 1")
	}
	if a := h.Callbacks.MaxAttempts; a < 1 || a > 50 {
		bad("http.callbacks.max_attempts: %d must be between 1 and 50", a)
	}
	for i, s := range h.Callbacks.AllowCIDRs {
		if _, err := parseAllowedCIDR(s); err != nil {
			bad("http.callbacks.allow_cidrs[%d]: %v", i, err)
		}
	}
	if h.Callbacks.AllowPrivate && len(h.Callbacks.AllowCIDRs) > 0 {
		bad("http.callbacks: allow_private already allows every address; drop allow_cidrs or set allow_private to false")
	}
	validateCORS(h.CORS, bad)
	if co := h.Console; co.Requests < 1 || co.Requests > 100000 || co.Window <= 0 {
		bad("http.console: requests must be between 1 and 100000, and window a positive duration such as 15m")
	}
	c.validateWebhooks(bad)
}

// validateCORS checks http.cors: origins as browsers send them, and a
// max_age the Access-Control-Max-Age header (whole seconds) can carry.
func validateCORS(c CORSConfig, bad func(string, ...any)) {
	for i, o := range c.AllowedOrigins {
		if err := httpapi.CheckOrigin(o); err != nil {
			bad("http.cors.allowed_origins[%d]: %v", i, err)
		}
	}
	if len(c.AllowedOrigins) > 1 && slices.Contains(c.AllowedOrigins, "*") {
		bad(`http.cors.allowed_origins: "*" already allows every origin; list it alone or drop it`)
	}
	if c.MaxAge < time.Second || c.MaxAge > 24*time.Hour || c.MaxAge%time.Second != 0 {
		bad("http.cors.max_age: %s must be whole seconds from 1s to 24h, such as 10m", c.MaxAge)
	}
}

// parseAllowedCIDR reads one range of http.callbacks.allow_cidrs, refusing
// what would not mean what it seems to.
func parseAllowedCIDR(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	switch {
	case err != nil:
		return p, fmt.Errorf("%q is not a CIDR range such as 10.0.0.0/8 or fd00::/8 (write one address as 10.1.2.3/32)", s)
	case p.Addr().Is4In6():
		return p, fmt.Errorf("%q is an IPv4-mapped IPv6 range; write it as IPv4, such as 10.0.0.0/8", s)
	case p != p.Masked():
		return p, fmt.Errorf("%q has address bits set beyond its /%d; write %s", s, p.Bits(), p.Masked())
	case p.Bits() == 0:
		return p, fmt.Errorf("%q allows every address; say so with allow_private: true instead", s)
	}
	return p, nil
}

// callbackPolicy is where http.callbacks lets callbacks connect; invalid
// ranges, which validation reports, are left out.
func (c CallbackConfig) callbackPolicy() jobs.CallbackConfig {
	cfg := jobs.CallbackConfig{AllowPrivate: c.AllowPrivate}
	for _, s := range c.AllowCIDRs {
		if p, err := parseAllowedCIDR(s); err == nil {
			cfg.AllowCIDRs = append(cfg.AllowCIDRs, p)
		}
	}
	return cfg
}

func (c *Config) validateWebhooks(bad func(string, ...any)) {
	policy := c.HTTP.Callbacks.callbackPolicy()
	seen := map[string]bool{}
	for i, w := range c.Webhooks {
		where := fmt.Sprintf("webhooks[%d] (%s)", i, w.Name)
		if !webhookName.MatchString(w.Name) {
			bad("%s: name must be 1-64 letters, digits, '_' or '-'", where)
		}
		if seen[w.Name] {
			bad("%s: the name is used twice", where)
		}
		seen[w.Name] = true
		if w.SecretEnv == "" && w.Name != "default" {
			bad("%s: secret_env must name the environment variable holding its whsec_ secret", where)
		}
		if w.CallbackURL == "" {
			continue
		}
		if u, err := url.Parse(w.CallbackURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("%s: callback_url %q must be an http(s) URL", where, w.CallbackURL)
		} else if err := policy.CheckURL(w.CallbackURL); errors.Is(err, jobs.ErrRefusedAddress) {
			bad("%s: %v Or allow its range with http.callbacks.allow_cidrs.", where, err)
		} else if err != nil {
			bad("%s: %v", where, err)
		}
	}
}

// startHTTP starts the HTTP ingress on http.addr: the API, its jobs and
// webhooks (run by the jobs part, startJobs). stop stops listening and
// lets requests finish until its context ends.
func (a *app) startHTTP(ctx context.Context) (stop func(context.Context) error, err error) {
	if a.cfg.HTTP.Addr == "" {
		return func(context.Context) error { return nil }, nil // http.addr "" turns the API off
	}
	if a.router == nil || a.jobs == nil {
		return nil, errors.New("the HTTP API needs the router and the jobs")
	}
	nc := a.jobs.nc
	var closers []func(context.Context) error
	cleanup := func(ctx context.Context) error {
		var errs []error
		for i := len(closers) - 1; i >= 0; i-- {
			errs = append(errs, closers[i](ctx))
		}
		return errors.Join(errs...)
	}
	srv, err := a.buildHTTP(ctx, nc, &closers)
	if err == nil {
		var addr net.Addr
		if addr, err = srv.Start(a.cfg.HTTP.Addr); err == nil {
			a.log.Info("HTTP API listening", "addr", addr.String())
			a.httpAddr = addr.String()
			closers = append(closers, srv.Shutdown)
			return cleanup, nil
		}
		err = unavailableError{fmt.Errorf("listening on http.addr %s: %w", a.cfg.HTTP.Addr, err)}
	}
	_ = cleanup(context.Background())
	return nil, err
}

// buildHTTP wires the jobs, the limiter and the webhooks into a server;
// closers collects what must be closed.
func (a *app) buildHTTP(ctx context.Context, nc *nats.Conn, closers *[]func(context.Context) error) (*httpapi.Server, error) {
	h := a.cfg.HTTP
	hooks, err := a.webhookHooks()
	if err != nil {
		return nil, usageError{err.Error()}
	}
	limiter, err := a.rateLimiter(ctx, closers)
	if err != nil {
		return nil, err
	}
	// The router plans for the API too, so that planning is traced, and a
	// request whose planning fails is counted.
	cfg := httpapi.Config{Runner: a.router, Models: a.reg, Jobs: a.jobs.mgr, Hooks: hooks, Dedupe: a.jobs.dedupe,
		APIKeys: a.apiKeys(), Limiter: limiter, MaxBodyBytes: h.MaxBodyBytes, ReadTimeout: h.ReadTimeout,
		WriteTimeout: h.WriteTimeout, IdleTimeout: h.IdleTimeout, KeepAlive: h.KeepAlive, Limits: a.cfg.TaskLimits(),
		CORS:   httpapi.CORS{AllowedOrigins: h.CORS.AllowedOrigins, MaxAge: h.CORS.MaxAge},
		Health: natsHealth(nc), Console: a.console, Logger: a.log, Tracer: a.tracer(), Conversations: a.conversations(),
		// Image URLs of content parts are fetched under the callbacks' rules.
		FetchClient: h.Callbacks.callbackPolicy().PublicClient()}
	if a.artifacts != nil {
		cfg.Files = a.artifacts // never a typed nil
	}
	cfg.Metrics, cfg.MetricsHandler = a.httpMetrics()
	if h.MCP.Enabled {
		srv, err := mcpserver.New(a.mcpConfig(a.router, a.planner, a.reg))
		if err != nil {
			return nil, err
		}
		// Run after the HTTP server's shutdown, which lets calls finish.
		*closers = append(*closers, func(context.Context) error { srv.Close(); return nil })
		cfg.MCP = srv.Handler()
	}
	if a.console != nil && a.cfg.Router.Events == "all" {
		// Every router publishes every request: show the others' too.
		stop, err := a.console.Follow(nc)
		if err != nil {
			return nil, unavailableError{err}
		}
		*closers = append(*closers, func(context.Context) error { stop(); return nil })
	}
	return httpapi.New(cfg)
}

// httpStores opens where jobs and webhook ids are kept: JetStream
// key-value buckets shared by every router on the same NATS, or memory
// (one router) when http.jobs.store says so or, on auto, when the NATS
// servers have no JetStream.
func (a *app) httpStores(ctx context.Context, nc *nats.Conn) (kv.Store, kv.Store, error) {
	j := a.cfg.HTTP.Jobs
	if j.Store != "memory" {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		replicas := kv.Replicas(a.cfg.NATS.Replicas)
		jobStore, err := kv.OpenJetStream(ctx, nc, jobsBucket, j.TTL, replicas)
		var dedupe kv.Store
		if err == nil {
			dedupe, err = kv.OpenJetStream(ctx, nc, webhooksBucket, j.TTL, replicas)
		}
		if err == nil {
			return jobStore, dedupe, nil
		}
		if j.Store == "jetstream" {
			return nil, nil, unavailableError{fmt.Errorf("http.jobs.store is jetstream: %w", err)}
		}
		a.log.Warn("JetStream is unavailable; jobs and webhook ids are kept in this process only", "err", err)
	}
	return kv.NewMemory(j.TTL), kv.NewMemory(j.TTL), nil
}

// apiKeys reads TASKROUTER_API_KEYS and the variable http.api_keys_env names.
func (a *app) apiKeys() []string {
	raw := a.getenv(envAPIKeys)
	if a.cfg.HTTP.APIKeysEnv != "" {
		raw += "," + a.getenv(a.cfg.HTTP.APIKeysEnv)
	}
	var keys []string
	for _, k := range strings.Split(raw, ",") {
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

// webhookHooks builds the configured hooks, plus "default" when
// TASKROUTER_WEBHOOK_SECRET is set. A configured hook whose secret is
// missing is an error: it could verify nothing.
func (a *app) webhookHooks() ([]httpapi.Hook, error) {
	configs := a.cfg.Webhooks
	hasDefault := false
	for _, w := range configs {
		hasDefault = hasDefault || w.Name == "default"
	}
	if !hasDefault && a.getenv(envWebhookSecret) != "" {
		configs = append(configs, WebhookConfig{Name: "default"})
	}
	var hooks []httpapi.Hook
	for _, w := range configs {
		env := w.SecretEnv
		if env == "" {
			env = envWebhookSecret
		}
		secret, err := webhook.ParseSecret(a.getenv(env))
		if err != nil {
			return nil, fmt.Errorf("webhook %s: the secret in %s: %w", w.Name, env, err)
		}
		hooks = append(hooks, httpapi.Hook{Name: w.Name, Verifier: webhook.Verifier{Secrets: []webhook.Secret{secret}},
			Instruction: w.Instruction, Model: w.Model, CallbackURL: w.CallbackURL, ConversationFrom: w.ConversationFrom})
	}
	return hooks, nil
}

// callbackConfig reads the callback signing secret, without which jobs
// with a callback_url are refused, and where callbacks may connect.
func (a *app) callbackConfig() (jobs.CallbackConfig, error) {
	c := a.cfg.HTTP.Callbacks
	cfg := c.callbackPolicy()
	cfg.MaxAttempts, cfg.InitialBackoff, cfg.MaxBackoff, cfg.Timeout = c.MaxAttempts, c.InitialBackoff, c.MaxBackoff, c.Timeout
	if raw := a.getenv(c.SecretEnv); raw != "" {
		secret, err := webhook.ParseSecret(raw)
		if err != nil {
			return cfg, fmt.Errorf("the callback secret in %s: %w", c.SecretEnv, err)
		}
		cfg.Secret = secret
	}
	for _, w := range a.cfg.Webhooks {
		if w.CallbackURL != "" && cfg.Secret.IsZero() {
			return cfg, fmt.Errorf("webhook %s has a callback_url, but %s holds no callback signing secret", w.Name, c.SecretEnv)
		}
	}
	return cfg, nil
}

// rateLimiter is the per-key limit: in Redis when redis.url is set, so
// that routers share it (in this process while Redis is unreachable), in
// memory otherwise; nil when off.
func (a *app) rateLimiter(ctx context.Context, closers *[]func(context.Context) error) (ratelimit.Limiter, error) {
	r := a.cfg.HTTP.RateLimit
	if r.RequestsPerSecond <= 0 {
		return nil, nil
	}
	lim := ratelimit.Limit{Rate: r.RequestsPerSecond, Burst: r.Burst}
	if a.cfg.Redis.URL == "" {
		m, err := ratelimit.NewMemory(lim)
		if err != nil {
			return nil, usageError{err.Error()}
		}
		return m, nil
	}
	opts, err := redisOptions(a.cfg.Redis, a.getenv) // ContextTimeoutEnabled: the failover's timeout must bound each call
	if err != nil {
		return nil, err
	}
	client := redis.NewClient(opts)
	*closers = append(*closers, func(context.Context) error { return client.Close() })
	if err := client.Ping(ctx).Err(); err != nil {
		return nil, unavailableError{fmt.Errorf("reaching Redis for rate limits: %w", err)}
	}
	shared, err := ratelimit.NewRedis(client, rateLimitKeyPrefix, lim)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	return ratelimit.NewFailover(shared, lim, ratelimit.FailoverConfig{Logger: a.log})
}

// natsHealth reports the NATS connection's state for GET /healthz.
func natsHealth(nc *nats.Conn) func(context.Context) error {
	return func(context.Context) error {
		if s := nc.Status(); s != nats.CONNECTED {
			return fmt.Errorf("NATS is %s", s)
		}
		return nil
	}
}
