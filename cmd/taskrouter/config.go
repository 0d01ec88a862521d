package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"reflect"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/taskrouter/taskrouter/adapters/openai"
	"github.com/taskrouter/taskrouter/providers"
	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/task"
)

// Config is the whole configuration file. Every key is documented in
// configs/taskrouter.yaml.
type Config struct {
	NATS    NATSConfig    `yaml:"nats"`
	Redis   RedisConfig   `yaml:"redis"`
	HTTP    HTTPConfig    `yaml:"http"`
	Planner PlannerConfig `yaml:"planner"`
	Router  RouterConfig  `yaml:"router"`
	Limits  LimitsConfig  `yaml:"limits"`
	// Catalog lists capability files (YAML or JSON) added to the built-in catalog.
	Catalog []string `yaml:"catalog"`
	// CatalogOnly plans over the catalog files alone, without the
	// built-in capabilities (--catalog-only).
	CatalogOnly bool `yaml:"catalog_only"`
	// Executors names the models this process serves; absent means every
	// built-in local model and every configured model, [] means none.
	Executors []string         `yaml:"executors"`
	Models    []task.ModelSpec `yaml:"models"`
	// Tools are the MCP servers whose tools this process serves, each as
	// the model mcp/<name>.
	Tools []ToolConfig `yaml:"tools"`
	// Providers are servers whose models are discovered: every model they
	// list is served as <provider>/<model id>.
	Providers []providers.Config `yaml:"providers"`
	// Webhooks are the signed webhook endpoints besides "default".
	Webhooks []WebhookConfig `yaml:"webhooks"`
	Log      LogConfig       `yaml:"log"`
	// Executor sizes the admission queue of every model this process serves.
	Executor ExecutorConfig `yaml:"executor"`
	Metrics  MetricsConfig  `yaml:"metrics"`
	Memory   MemoryConfig   `yaml:"memory"`
	// Artifacts bounds the binary data requests bring and models make.
	Artifacts ArtifactsConfig `yaml:"artifacts"`
}

// HTTPConfig is the HTTP ingress: the OpenAI-compatible API, jobs and
// webhooks. Secrets come from the environment (TASKROUTER_API_KEYS,
// TASKROUTER_WEBHOOK_SECRET, the variables named here), never from the file.
type HTTPConfig struct {
	Addr string `yaml:"addr"`
	// APIKeysEnv names a variable with more comma-separated API keys,
	// besides TASKROUTER_API_KEYS.
	APIKeysEnv   string          `yaml:"api_keys_env"`
	MaxBodyBytes int64           `yaml:"max_body_bytes"`
	ReadTimeout  time.Duration   `yaml:"read_timeout"`
	WriteTimeout time.Duration   `yaml:"write_timeout"`
	IdleTimeout  time.Duration   `yaml:"idle_timeout"`
	KeepAlive    time.Duration   `yaml:"keep_alive"`
	RateLimit    RateLimitConfig `yaml:"rate_limit"`
	Jobs         JobsConfig      `yaml:"jobs"`
	Callbacks    CallbackConfig  `yaml:"callbacks"`
	CORS         CORSConfig      `yaml:"cors"`
	Console      ConsoleConfig   `yaml:"console"`
	MCP          MCPConfig       `yaml:"mcp"`
}

// MCPConfig is taskrouter's MCP server at /mcp (streamable HTTP): on or
// off, and how long a session that sends nothing is kept.
type MCPConfig struct {
	Enabled        bool          `yaml:"enabled"`
	SessionTimeout time.Duration `yaml:"session_timeout"`
}

// ConsoleConfig is the web console at /console: on or off, and how many
// recent requests, over how long, it keeps to show.
type ConsoleConfig struct {
	Enabled  bool          `yaml:"enabled"`
	Requests int           `yaml:"requests"`
	Window   time.Duration `yaml:"window"`
}

// CORSConfig lets browser pages on other origins call the /v1 API; no
// allowed_origins turns it off.
type CORSConfig struct {
	// AllowedOrigins are scheme://host[:port] origins, "*" for all, or
	// patterns such as https://*.example.com and http://localhost:*.
	AllowedOrigins []string      `yaml:"allowed_origins"`
	MaxAge         time.Duration `yaml:"max_age"`
}

// RateLimitConfig is the token bucket per API key (per client address
// without keys); zero requests_per_second turns it off.
type RateLimitConfig struct {
	RequestsPerSecond float64 `yaml:"requests_per_second"`
	Burst             int     `yaml:"burst"`
}

// JobsConfig sizes the background jobs and says where they are kept.
type JobsConfig struct {
	// Store is auto (JetStream when NATS has it, else memory), jetstream or memory.
	Store   string        `yaml:"store"`
	TTL     time.Duration `yaml:"ttl"`
	Workers int           `yaml:"workers"`
	Queue   int           `yaml:"queue"`
}

// CallbackConfig is the delivery of job results to callback URLs.
type CallbackConfig struct {
	SecretEnv      string        `yaml:"secret_env"`
	MaxAttempts    int           `yaml:"max_attempts"`
	InitialBackoff time.Duration `yaml:"initial_backoff"`
	MaxBackoff     time.Duration `yaml:"max_backoff"`
	Timeout        time.Duration `yaml:"timeout"`
	// AllowPrivate lets callbacks reach every address, loopback and
	// private ones included; by default they reach public addresses only,
	// and the ranges in AllowCIDRs.
	AllowPrivate bool     `yaml:"allow_private"`
	AllowCIDRs   []string `yaml:"allow_cidrs"`
}

// WebhookConfig is one signed webhook endpoint, POST /v1/webhooks/<name>.
type WebhookConfig struct {
	Name string `yaml:"name"`
	// SecretEnv names the variable holding the whsec_ secret; the hook
	// "default" uses TASKROUTER_WEBHOOK_SECRET when it is empty.
	SecretEnv   string `yaml:"secret_env"`
	Instruction string `yaml:"instruction"`
	Model       string `yaml:"model"`
	CallbackURL string `yaml:"callback_url"`
	// ConversationFrom is a gjson path to the conversation id in the
	// payload, such as thread.id.
	ConversationFrom string `yaml:"conversation_from"`
}

// PlannerConfig chooses the planner.
type PlannerConfig struct {
	Mode string `yaml:"mode"`
	// MaxRounds bounds the rounds of planning of a request: the first
	// plan, and each one more the LLM planner is asked for after a round
	// that declared it may need one or had a step fail for good.
	MaxRounds int `yaml:"max_rounds"`
}

// RouterConfig tunes dispatch.
type RouterConfig struct {
	Attempts       int           `yaml:"attempts"`
	SubtaskTimeout time.Duration `yaml:"subtask_timeout"`
	RequestTimeout time.Duration `yaml:"request_timeout"`
	AcceptTimeout  time.Duration `yaml:"accept_timeout"`
	LostAfter      time.Duration `yaml:"lost_after"`
	Policy         string        `yaml:"policy"`
	// Events is "requested" (publish progress of requests that set
	// events: true) or "all".
	Events string `yaml:"events"`
	// FailuresToCooldown, Cooldown and MaxCooldown tune each model's
	// circuit breaker (registry.Options).
	FailuresToCooldown int           `yaml:"failures_to_cooldown"`
	Cooldown           time.Duration `yaml:"cooldown"`
	MaxCooldown        time.Duration `yaml:"max_cooldown"`
}

// LimitsConfig bounds requests and plans.
type LimitsConfig struct {
	MaxSubtasks   int `yaml:"max_subtasks"`
	MaxDepth      int `yaml:"max_depth"`
	MaxInputBytes int `yaml:"max_input_bytes"`
}

// LogConfig sets the log level (debug, info, warn or error) and format
// (text, or json: one object a line).
type LogConfig struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// MetricsConfig turns serve's Prometheus metrics (GET /metrics on
// http.addr) on or off.
type MetricsConfig struct {
	Enabled bool `yaml:"enabled"`
}

// DefaultConfig is the embedded default: embedded NATS, memory registry,
// the built-in local models.
func DefaultConfig() Config {
	return Config{
		NATS:    NATSConfig{TLS: TLSConfig{Verify: true}, Replicas: 1, Durable: defaultDurableConfig()},
		Redis:   RedisConfig{TLS: TLSConfig{Verify: true}},
		HTTP:    defaultHTTPConfig(),
		Planner: PlannerConfig{Mode: "auto", MaxRounds: 2},
		Router:  RouterConfig{Attempts: 3, SubtaskTimeout: 2 * time.Minute, RequestTimeout: 5 * time.Minute, AcceptTimeout: time.Second, LostAfter: 3 * time.Second, Policy: "balanced", Events: "requested", FailuresToCooldown: registry.DefaultFailuresToCooldown, Cooldown: registry.DefaultCooldown, MaxCooldown: registry.DefaultMaxCooldown},
		Limits:  LimitsConfig{MaxSubtasks: task.DefaultLimits.MaxSubtasks, MaxDepth: task.DefaultLimits.MaxDepth, MaxInputBytes: task.DefaultLimits.MaxInputBytes},
		Log:     LogConfig{Level: "warn", Format: "text"},
		Metrics: MetricsConfig{Enabled: true},

		Executor:  defaultExecutorConfig(),
		Memory:    defaultMemoryConfig(),
		Artifacts: defaultArtifactsConfig(),
	}
}

// LoadConfig reads a config file over the defaults; an empty path returns
// the defaults. Unknown keys are errors that name the key and its line.
func LoadConfig(path string) (Config, error) {
	cfg := DefaultConfig()
	if path == "" {
		return cfg, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("reading config: %w", err)
	}
	if err := decodeConfig(data, &cfg); err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// decodeConfig decodes strictly. Keys and values are checked first
// against Config's YAML keys, so that errors name the YAML path and the
// nearest key (http.adress: did you mean http.addr?), not Go types.
func decodeConfig(data []byte, cfg *Config) error {
	nodes := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := nodes.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return err
	}
	var extra yaml.Node
	if err := nodes.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("holds more than one YAML document; keep one")
	}
	if err := checkYAML(&doc, reflect.TypeFor[Config]()); err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// ApplyEnv overrides secrets and addresses from the environment:
// TASKROUTER_NATS_URL, TASKROUTER_REDIS_URL.
func (c *Config) ApplyEnv(getenv func(string) string) {
	if v := getenv("TASKROUTER_NATS_URL"); v != "" {
		c.NATS.URL = v
	}
	if v := getenv("TASKROUTER_REDIS_URL"); v != "" {
		c.Redis.URL = v
	}
}

// Validate reports the first thing wrong with the config, before anything connects.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	c.NATS.validate(bad)
	c.Redis.validate(bad)
	c.validateHTTP(bad)
	if !slices.Contains([]string{"auto", "rules", "llm", "single"}, c.Planner.Mode) {
		bad("planner.mode: %q is not one of auto, rules, llm, single", c.Planner.Mode)
	}
	if c.Planner.MaxRounds < 1 || c.Planner.MaxRounds > 5 {
		bad("planner.max_rounds: %d must be between 1 (never plan again) and 5", c.Planner.MaxRounds)
	}
	if !slices.Contains([]string{"quality", "cost", "latency", "balanced"}, c.Router.Policy) {
		bad("router.policy: %q is not one of quality, cost, latency, balanced", c.Router.Policy)
	}
	if !slices.Contains([]string{"requested", "all"}, c.Router.Events) {
		bad("router.events: %q is not one of requested, all", c.Router.Events)
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		bad("log.level: %q is not one of debug, info, warn, error", c.Log.Level)
	}
	if !slices.Contains([]string{"text", "json"}, c.Log.Format) {
		bad("log.format: %q is not one of text, json", c.Log.Format)
	}
	c.validateNumbers(bad)
	c.Executor.validate(bad)
	c.Memory.validate(bad)
	c.Artifacts.validate(bad)
	c.validateModels(bad)
	c.validateTools(bad)
	c.validateProviders(bad)
	c.validateFallbacks(bad)
	return errors.Join(errs...)
}

func (c *Config) validateNumbers(bad func(string, ...any)) {
	r := c.Router
	if r.Attempts < 1 || r.Attempts > 20 {
		bad("router.attempts: %d must be between 1 and 20", r.Attempts)
	}
	for name, d := range map[string]time.Duration{"subtask_timeout": r.SubtaskTimeout, "request_timeout": r.RequestTimeout,
		"accept_timeout": r.AcceptTimeout, "lost_after": r.LostAfter, "cooldown": r.Cooldown, "max_cooldown": r.MaxCooldown} {
		if d <= 0 {
			bad("router.%s: must be a positive duration such as 30s", name)
		}
	}
	if minAccept := 10 * task.AcceptWithin; r.AcceptTimeout > 0 && r.AcceptTimeout < minAccept {
		bad("router.accept_timeout: %v is too short; executors say they have work still running after %v, so give them at least %v, such as 1s",
			r.AcceptTimeout, task.AcceptWithin, minAccept)
	}
	if r.FailuresToCooldown < 1 {
		bad("router.failures_to_cooldown: %d must be at least 1", r.FailuresToCooldown)
	}
	if r.MaxCooldown > 0 && r.MaxCooldown < r.Cooldown {
		bad("router.max_cooldown: %v is shorter than router.cooldown %v; the cap must be at least the first period", r.MaxCooldown, r.Cooldown)
	}
	l := c.Limits
	if l.MaxSubtasks < 1 || l.MaxDepth < 1 || l.MaxInputBytes < 1 {
		bad("limits: max_subtasks, max_depth and max_input_bytes must be positive")
	}
}

func (c *Config) validateModels(bad func(string, ...any)) {
	seen := map[string]bool{}
	for i, m := range c.Models {
		where := fmt.Sprintf("models[%d]", i)
		if m.Name == "" {
			bad("%s: name is required", where)
			continue
		}
		where = fmt.Sprintf("models[%d] (%s)", i, m.Name)
		if err := task.CheckModelName(m.Name); err != nil {
			bad("%s: %s", where, task.AsError(err).Message)
		}
		if seen[m.Name] {
			bad("%s: the name is used twice", where)
		}
		seen[m.Name] = true
		switch m.Backend {
		case task.BackendOpenAI:
			if u, err := url.Parse(m.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				bad("%s: base_url %q must be an http(s) URL such as https://api.openai.com/v1", where, m.BaseURL)
			}
		case task.BackendLocal:
		default:
			bad("%s: backend %q must be local or openai", where, m.Backend)
		}
		if m.API != "" && m.Backend != task.BackendOpenAI {
			bad("%s: api %q is for models with backend openai; a %s model serves its capabilities itself", where, m.API, m.Backend)
		} else if err := openai.CheckAPI(m); err != nil {
			bad("%s: %v", where, err)
		}
		if len(m.Capabilities) == 0 {
			bad("%s: list at least one capability", where)
		}
		if m.ContextWindow < 0 || m.MaxOutputTokens < 0 || m.Concurrency < 0 || m.Price.InputPerMTok < 0 || m.Price.OutputPerMTok < 0 {
			bad("%s: context_window, max_output_tokens, concurrency and prices must not be negative", where)
		}
		if m.ContextWindow > 0 && m.MaxOutputTokens >= m.ContextWindow {
			bad("%s: max_output_tokens %d leaves no room in context_window %d", where, m.MaxOutputTokens, m.ContextWindow)
		}
		if t := m.Temperature; t != nil && (*t < 0 || *t > 2) {
			bad("%s: temperature %v must be between 0 and 2", where, *t)
		}
		for capName, q := range m.Quality {
			if q < 0 || q > 1 {
				bad("%s: quality.%s %.2f must be between 0 and 1", where, capName, q)
			}
		}
	}
}

// TaskLimits returns the limits on requests and plans.
func (c *Config) TaskLimits() task.Limits {
	return task.Limits{MaxSubtasks: c.Limits.MaxSubtasks, MaxDepth: c.Limits.MaxDepth, MaxInputBytes: c.Limits.MaxInputBytes,
		MaxArtifactBytes: c.Artifacts.MaxBytes}
}
