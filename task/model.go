package task

import (
	"encoding/json"
	"slices"
)

// Backends a model spec may name.
const (
	BackendLocal  = "local"
	BackendOpenAI = "openai"
	// BackendMCP is an MCP server whose tools are the model's
	// capabilities, one capability per tool.
	BackendMCP = "mcp"
)

// ModelSpec describes one model: where it runs, what it can do and what it
// costs. Executors announce specs; the registry selects among them.
type ModelSpec struct {
	Name    string `json:"name" yaml:"name"`
	Backend string `json:"backend" yaml:"backend"`
	// BaseURL is the OpenAI-compatible endpoint of a remote model.
	BaseURL string `json:"base_url,omitempty" yaml:"base_url"`
	// APIKeyEnv names the environment variable that holds the key.
	APIKeyEnv string `json:"api_key_env,omitempty" yaml:"api_key_env"`
	// UpstreamModel is the model id sent upstream; default Name.
	UpstreamModel string `json:"upstream_model,omitempty" yaml:"upstream_model"`
	// API is the OpenAI API a remote model serves its capabilities
	// through (APIChat, APIImages, APITranscriptions, APISpeech), when
	// the capability alone does not say: by default image-generate and
	// image-edit go to the images API, asr to transcriptions, tts to
	// speech, and everything else to chat.
	API             string            `json:"api,omitempty" yaml:"api"`
	Headers         map[string]string `json:"headers,omitempty" yaml:"headers"`
	Capabilities    []string          `json:"capabilities" yaml:"capabilities"`
	ContextWindow   int               `json:"context_window,omitempty" yaml:"context_window"`
	MaxOutputTokens int               `json:"max_output_tokens,omitempty" yaml:"max_output_tokens"`
	Price           Price             `json:"price,omitzero" yaml:"price"`
	// Quality is a score in [0,1] per capability; missing means 0.5.
	Quality map[string]float64 `json:"quality,omitempty" yaml:"quality"`
	// Temperature, when set, is the temperature the router asks of the
	// model for its own steps and for answers whose request sets none
	// (never in a caller's own body): 0 makes them deterministic, so that
	// their answers may be cached.
	Temperature *float64 `json:"temperature,omitempty" yaml:"temperature"`
	// Concurrency is how many subtasks one replica runs at once.
	Concurrency int `json:"concurrency,omitempty" yaml:"concurrency"`
	// Fallbacks are the models, in order, that may answer a request naming
	// this model when it cannot: the operator's choice, never the router's.
	Fallbacks []string `json:"fallbacks,omitempty" yaml:"fallbacks"`
	// Defines are capabilities the model brings with it, which no
	// catalog file holds: the tools of an MCP server, each with its
	// description and input schema. Routers add them to their catalog
	// while the model has a live replica, so a tool an executor serves
	// on any machine can be planned. Configs do not set it.
	Defines []Capability `json:"defines,omitempty" yaml:"-"`
	// Provider names the provider whose model list this model was
	// discovered in; empty for a configured or built-in model. A config
	// cannot set it.
	Provider string `json:"provider,omitempty" yaml:"-"`
}

// Price is a model's price in US dollars per million tokens.
type Price struct {
	InputPerMTok  float64 `json:"input_per_mtok,omitempty" yaml:"input_per_mtok"`
	OutputPerMTok float64 `json:"output_per_mtok,omitempty" yaml:"output_per_mtok"`
}

// Has reports whether the model offers a capability.
func (m ModelSpec) Has(capability string) bool { return slices.Contains(m.Capabilities, capability) }

// QualityFor returns the model's quality score for a capability.
func (m ModelSpec) QualityFor(capability string) float64 {
	if q, ok := m.Quality[capability]; ok {
		return q
	}
	return 0.5
}

// Cost estimates the price in dollars of a call with the given token counts.
func (m ModelSpec) Cost(promptTokens, completionTokens int) float64 {
	return (float64(promptTokens)*m.Price.InputPerMTok + float64(completionTokens)*m.Price.OutputPerMTok) / 1e6
}

// Fits reports whether an input of the given estimated token count plus the
// model's output limit fits its context window. A zero window fits anything.
func (m ModelSpec) Fits(inputTokens int) bool {
	return m.ContextWindow <= 0 || inputTokens+m.MaxOutputTokens <= m.ContextWindow
}

// Capability is a kind of work, as data: the planner matches requests
// against its description, examples and keywords.
type Capability struct {
	Name        string   `json:"name" yaml:"name"`
	Description string   `json:"description" yaml:"description"`
	Inputs      []string `json:"inputs" yaml:"inputs"`
	Outputs     []string `json:"outputs" yaml:"outputs"`
	Examples    []string `json:"examples,omitempty" yaml:"examples"`
	Keywords    []string `json:"keywords,omitempty" yaml:"keywords"`
	// Titles are section headings for merged answers, by language code ("en", "zh").
	Titles map[string]string `json:"titles,omitempty" yaml:"titles"`
	// Direct marks a capability that only a request naming a model asks
	// for, at an endpoint of its own (embed at /v1/embeddings, complete at
	// /v1/completions): planners never plan it.
	Direct bool `json:"direct,omitempty" yaml:"direct"`
	// InputSchema is the JSON Schema of a tool's arguments: a subtask's
	// args are converted to it and checked against it before the call,
	// and the LLM planner shows it to the model that writes plans.
	InputSchema json.RawMessage `json:"input_schema,omitempty" yaml:"-"`
}

// Title returns the heading for this capability in a language, falling back
// to English and then to the name.
func (c Capability) Title(lang string) string {
	if t := c.Titles[lang]; t != "" {
		return t
	}
	if t := c.Titles["en"]; t != "" {
		return t
	}
	return c.Name
}
