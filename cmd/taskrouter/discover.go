package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/taskrouter/taskrouter/adapters/ollama"
	"github.com/taskrouter/taskrouter/adapters/openai"
	"github.com/taskrouter/taskrouter/localmodel"
	"github.com/taskrouter/taskrouter/providers"
	"github.com/taskrouter/taskrouter/task"
)

// listers builds the Lister of each kind of provider; key is the value of
// its api_key_env.
var listers = map[string]func(p providers.Config, key string) (providers.Lister, error){
	providers.KindOllama: newOllamaLister,
	providers.KindOpenAI: newOpenAILister,
}

func newOllamaLister(p providers.Config, key string) (providers.Lister, error) {
	return ollama.New(p.BaseURL, ollama.WithTimeout(p.Timeout), ollama.WithHeaders(p.Headers), ollama.WithAPIKey(key))
}

func newOpenAILister(p providers.Config, key string) (providers.Lister, error) {
	return openai.NewLister(p.BaseURL, key, p.APIKeyEnv, openai.WithTimeout(p.Timeout), openai.WithHeaders(p.Headers))
}

// implicitProvider is the Ollama looked for when there is no config.
const implicitProvider = "ollama"

// validateProviders checks the providers: entries; their rules'
// capabilities are checked against the catalog with the models'.
func (c *Config) validateProviders(bad func(string, ...any)) {
	seen := map[string]bool{}
	for i, p := range c.Providers {
		where := fmt.Sprintf("providers[%d]", i)
		if p.Name != "" {
			where = fmt.Sprintf("providers[%d] (%s)", i, p.Name)
		}
		p.Check(func(format string, args ...any) { bad("%s: %s", where, fmt.Sprintf(format, args...)) })
		if p.Name == "" {
			continue
		}
		if seen[p.Name] {
			bad("%s: the name is used twice", where)
		}
		seen[p.Name] = true
		if slices.ContainsFunc(c.Models, func(m task.ModelSpec) bool { return m.Name == p.Name }) {
			bad("%s: a model has the same name; executors: names providers and models alike, so rename one", where)
		}
	}
}

// providerNames are the names of the config's providers.
func (c *Config) providerNames() []string {
	var names []string
	for _, p := range c.Providers {
		names = append(names, p.Name)
	}
	return names
}

// discoverySources are the providers this process discovers: those of
// the config that it serves (every one, unless executors: or --models
// lists names, which then pick providers by name too), and, with no
// config at all, the Ollama at OLLAMA_HOST (default 127.0.0.1:11434) as an
// optional source.
func (a *app) discoverySources(parts appParts) ([]providers.Source, error) {
	if !parts.executors {
		return nil, nil
	}
	pick := parts.models
	if pick == nil {
		pick = a.cfg.Executors
	}
	var sources []providers.Source
	for _, p := range a.cfg.Providers {
		if pick != nil && !slices.Contains(pick, p.Name) {
			continue
		}
		src, err := a.source(p.WithDefaults(), false)
		if err != nil {
			return nil, err
		}
		sources = append(sources, src)
	}
	if parts.discover && pick == nil {
		src, err := a.implicitOllama()
		if err != nil {
			a.log.Warn("not looking for Ollama", "err", err)
			return sources, nil
		}
		sources = append(sources, src)
	}
	return sources, nil
}

func (a *app) source(p providers.Config, optional bool) (providers.Source, error) {
	key := ""
	if p.APIKeyEnv != "" {
		if key = a.getenv(p.APIKeyEnv); key == "" {
			a.log.Warn("a provider's API key variable is empty or unset; listing its models fails until it is set and taskrouter restarted",
				"provider", p.Name, "variable", p.APIKeyEnv)
		}
	}
	l, err := listers[p.Kind](p, key)
	if err != nil {
		return providers.Source{}, usageError{fmt.Sprintf("provider %s: %v", p.Name, err)}
	}
	return providers.Source{Config: p, Lister: l, Optional: optional}, nil
}

// implicitOllama is the Ollama at OLLAMA_HOST, as Ollama's own client
// reads the variable.
func (a *app) implicitOllama() (providers.Source, error) {
	base, err := ollama.ParseHost(a.getenv("OLLAMA_HOST"))
	if err != nil {
		return providers.Source{}, err
	}
	return a.source(providers.Config{Name: implicitProvider, Kind: providers.KindOllama, BaseURL: base}.WithDefaults(), true)
}

// inference infers against the process's catalog. Without a config, the
// discovered models leave to the built-in ones what those do.
func (a *app) inference(implicit bool) (providers.Inference, error) {
	cat := a.catalog
	if cat == nil {
		var err error
		if cat, err = buildCatalog(a.cfg, nil); err != nil {
			return providers.Inference{}, err
		}
	}
	inf := providers.Inference{Text: providers.TextCapabilities(cat.All()), Known: cat.Has}
	if implicit {
		for _, b := range localmodel.Builtins() {
			inf.Skip = append(inf.Skip, b.Spec.Capabilities...)
		}
	}
	return inf, nil
}

// excludeConfigured leaves out a discovered model the config has: one of
// the same name, or one called at the same base URL with the same
// upstream model (the configured spec, with its prices, wins).
func (a *app) excludeConfigured(spec task.ModelSpec) (string, bool) {
	for _, m := range a.cfg.Models {
		upstream := m.UpstreamModel
		if upstream == "" {
			upstream = m.Name
		}
		switch {
		case m.Name == spec.Name:
			return "a configured model has its name", true
		case m.Backend == task.BackendOpenAI && sameBaseURL(m.BaseURL, spec.BaseURL) && upstream == spec.UpstreamModel:
			return "configured as model " + m.Name, true
		}
	}
	return "", false
}

func sameBaseURL(a, b string) bool {
	return strings.TrimRight(a, "/") == strings.TrimRight(b, "/")
}

// discoveryNote tells an ask or serve without a config which models it
// found at Ollama; "" when it found none.
func (a *app) discoveryNote() string {
	if a.watcher == nil {
		return ""
	}
	var names []string
	base := ""
	for _, s := range a.watcher.Served() {
		if s.Provider == implicitProvider && a.implicit {
			names = append(names, s.Name)
			base = strings.TrimSuffix(s.BaseURL, "/v1")
		}
	}
	if len(names) == 0 {
		return ""
	}
	return fmt.Sprintf("using the models of the Ollama at %s for what no built-in model does: %s (--no-discover turns this off)",
		base, strings.Join(names, ", "))
}
