// Package providers discovers the models of servers that list them (an
// Ollama, any OpenAI-compatible API) and keeps them registered: every
// listed model becomes a model spec named <provider>/<model id>, with its
// context window where the server tells it and capabilities inferred from
// what the server says and from well-known name patterns, which the
// provider's capabilities_by_pattern overrides. The list is read at start
// and refreshed on an interval; models the server stops listing are
// withdrawn.
//
// The package knows no wire format: each kind of server has a Lister in
// its adapter (adapters/ollama, adapters/openai), and the process serves
// what the Watcher finds through a Sink.
package providers

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// The kinds of provider.
const (
	// KindOllama is an Ollama server: models from /api/tags and /api/show,
	// calls through its OpenAI-compatible /v1.
	KindOllama = "ollama"
	// KindOpenAI is any OpenAI-compatible API: models from GET /models
	// under its base URL.
	KindOpenAI = "openai"
)

// Defaults of a provider's settings.
const (
	DefaultRefresh = time.Minute
	DefaultTimeout = 10 * time.Second
	// DefaultOllamaConcurrency is what one replica sends an Ollama at once
	// per model: Ollama runs a few requests per loaded model in parallel
	// (OLLAMA_NUM_PARALLEL) and queues the rest itself.
	DefaultOllamaConcurrency = 4
	// DefaultOpenAIConcurrency is what one replica sends a remote API at
	// once per model, as for a configured remote model.
	DefaultOpenAIConcurrency = 64
)

// Config is one entry of the config's providers: a server whose models
// are discovered. Secrets are not in it: APIKeyEnv names the variable
// that holds the key.
type Config struct {
	// Name prefixes every discovered model: <name>/<model id>.
	Name string `yaml:"name"`
	Kind string `yaml:"kind"`
	// BaseURL is Ollama's root (http://127.0.0.1:11434) or an
	// OpenAI-compatible API's base, ending where /models and
	// /chat/completions follow (https://api.example.com/v1).
	BaseURL   string            `yaml:"base_url"`
	APIKeyEnv string            `yaml:"api_key_env"`
	Headers   map[string]string `yaml:"headers"`
	// Refresh is how often the list is read again (default DefaultRefresh).
	Refresh time.Duration `yaml:"refresh"`
	// Timeout bounds each listing call (default DefaultTimeout).
	Timeout time.Duration `yaml:"timeout"`
	// Concurrency is each discovered model's (default by kind).
	Concurrency int `yaml:"concurrency"`
	// CapabilitiesByPattern overrides inference: the first rule whose
	// pattern matches a model's id gives its capabilities.
	CapabilitiesByPattern []Rule `yaml:"capabilities_by_pattern"`
}

// Rule gives the models whose id matches Pattern their capabilities
// instead of the inferred ones; no capabilities leaves them out.
type Rule struct {
	// Pattern is a glob over the model id as the server lists it: * for
	// any run of characters (/ included), ? for one, case-insensitive.
	Pattern      string             `yaml:"pattern"`
	Capabilities []string           `yaml:"capabilities"`
	Quality      map[string]float64 `yaml:"quality"`
}

// WithDefaults fills the settings left empty.
func (c Config) WithDefaults() Config {
	if c.Refresh == 0 {
		c.Refresh = DefaultRefresh
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultOpenAIConcurrency
		if c.Kind == KindOllama {
			c.Concurrency = DefaultOllamaConcurrency
		}
	}
	return c
}

// ModelsBaseURL is the OpenAI-compatible base URL discovered models are
// called at: Ollama's /v1, or the provider's own base URL.
func (c Config) ModelsBaseURL() string {
	base := strings.TrimRight(c.BaseURL, "/")
	if c.Kind == KindOllama {
		return base + "/v1"
	}
	return base
}

// Check reports what is wrong with the entry, each problem a sentence
// that says what to fix; bad receives them one at a time.
func (c Config) Check(bad func(format string, args ...any)) {
	if err := CheckName(c.Name); err != nil {
		bad("%v", err)
	}
	switch c.Kind {
	case KindOllama, KindOpenAI:
	default:
		bad("kind %q must be %s or %s", c.Kind, KindOllama, KindOpenAI)
	}
	c.checkBaseURL(bad)
	if c.Refresh < 0 || c.Timeout < 0 || c.Concurrency < 0 {
		bad("refresh, timeout and concurrency must not be negative")
	}
	for i, r := range c.CapabilitiesByPattern {
		if strings.TrimSpace(r.Pattern) == "" {
			bad("capabilities_by_pattern[%d]: pattern is required, such as \"*coder*\"", i)
		}
		for capName, q := range r.Quality {
			if q < 0 || q > 1 {
				bad("capabilities_by_pattern[%d]: quality.%s %.2f must be between 0 and 1", i, capName, q)
			}
		}
	}
}

func (c Config) checkBaseURL(bad func(format string, args ...any)) {
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		example := "https://api.example.com/v1"
		if c.Kind == KindOllama {
			example = "http://127.0.0.1:11434"
		}
		bad("base_url %q must be an http(s) URL such as %s", c.BaseURL, example)
		return
	}
	if c.Kind == KindOllama && strings.TrimRight(u.Path, "/") == "/v1" {
		bad("base_url %q: an ollama provider's base_url is the server's root, such as %s://%s, without /v1 (taskrouter adds it for the calls)", c.BaseURL, u.Scheme, u.Host)
	}
}

// CheckName reports whether name can name a provider: 1 to 64 letters,
// digits, '-', '_' and '.', so that <name>/<model id> is a model name
// and a provider's models are told apart from the built-in local/ ones.
func CheckName(name string) error {
	if name == "" {
		return fmt.Errorf("name is required, such as ollama or moonshot")
	}
	if len(name) > 64 {
		return fmt.Errorf("name %.20q... is %d bytes; the limit is 64", name, len(name))
	}
	for _, r := range name {
		if !nameChar(r) {
			return fmt.Errorf("name %q holds %q; a provider's name holds letters, digits, '-', '_' and '.'", name, r)
		}
	}
	if name == "local" {
		return fmt.Errorf("name %q is the built-in models' prefix; choose another", name)
	}
	return nil
}

func nameChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
}
