// Package openai is a model backend for any OpenAI-compatible chat
// completions API: OpenAI, DeepSeek, Qwen (DashScope compatible mode),
// Moonshot, OpenRouter, and local servers such as Ollama, vLLM, llama.cpp
// and MLC LLM. It streams answers, passes function calling through,
// counts usage and cost, and classifies every failure into a task.Error
// code by status and type.
package openai

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	goopenai "github.com/sashabaranov/go-openai"
	"go.opentelemetry.io/otel/trace"

	"github.com/taskrouter/taskrouter/task"
)

// Model is one remote model behind an OpenAI-compatible API. It is safe for
// concurrent use; it never reads the environment.
type Model struct {
	spec     task.ModelSpec
	upstream string // the model id sent upstream
	client   *goopenai.Client
	// baseURL and doer are what Relay posts bodies with: the API root
	// and the client go-openai uses too.
	baseURL string
	doer    *transport
	secret  secret
	timeout time.Duration
	idle    time.Duration
	// completionTokensField sends the output limit as max_completion_tokens,
	// for reasoning models that refuse max_tokens.
	completionTokensField bool
	// fixedSampling leaves out temperature, top_p and the penalties, which
	// go-openai refuses to send to reasoning models.
	fixedSampling bool
	tracer        trace.Tracer
}

// New returns a Model for spec, which needs a name and a base URL. apiKey is
// the value of the environment variable spec.APIKeyEnv names, read by the
// caller; local servers that need no key leave api_key_env out. When the
// spec names a variable but apiKey is empty, every call fails with
// CodeAuth naming the variable, without reaching the upstream. The key is
// sent as a Bearer token and never appears in errors.
func New(spec task.ModelSpec, apiKey string, opts ...Option) (*Model, error) {
	if err := checkSpec(spec); err != nil {
		return nil, err
	}
	c := config{timeout: DefaultTimeout, idle: DefaultIdleTimeout, headers: http.Header{}}
	for k, v := range spec.Headers {
		c.headers.Set(k, v)
	}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, fmt.Errorf("configuring model %q: %w", spec.Name, err)
		}
	}
	if c.headers.Get("Authorization") != "" {
		return nil, fmt.Errorf("configuring model %q: an Authorization header is not allowed in headers; put the key in the environment variable named by api_key_env", spec.Name)
	}
	if c.httpClient == nil {
		c.httpClient = defaultHTTPClient()
	}
	cfg := goopenai.DefaultConfig(apiKey)
	cfg.BaseURL = strings.TrimRight(spec.BaseURL, "/")
	doer := &transport{next: c.httpClient, headers: c.headers, keyUnset: spec.APIKeyEnv != "" && apiKey == ""}
	cfg.HTTPClient = doer
	m := &Model{
		spec:     spec,
		upstream: spec.UpstreamModel,
		client:   goopenai.NewClientWithConfig(cfg),
		baseURL:  cfg.BaseURL,
		doer:     doer,
		secret:   secret{key: apiKey, env: spec.APIKeyEnv},
		timeout:  c.timeout,
		idle:     c.idle,
		tracer:   c.tracer,
	}
	if m.upstream == "" {
		m.upstream = spec.Name
	}
	probe := goopenai.ChatCompletionRequest{Model: m.upstream, MaxTokens: 1}
	m.completionTokensField = errors.Is(goopenai.NewReasoningValidator().Validate(probe), goopenai.ErrReasoningModelMaxTokensDeprecated)
	err := goopenai.NewReasoningValidator().Validate(goopenai.ChatCompletionRequest{Model: m.upstream, Temperature: 0.5})
	m.fixedSampling = errors.Is(err, goopenai.ErrReasoningModelLimitationsOther) || errors.Is(err, goopenai.ErrReasoningSamplingUnsupported)
	return m, nil
}

// checkSpec reports what in a spec keeps it from being served here.
func checkSpec(spec task.ModelSpec) error {
	if spec.Name == "" {
		return errors.New("configuring an openai model: the spec has no name")
	}
	if spec.Backend != "" && spec.Backend != task.BackendOpenAI {
		return fmt.Errorf("configuring model %q: backend is %q; this adapter serves backend %q", spec.Name, spec.Backend, task.BackendOpenAI)
	}
	u, err := url.Parse(spec.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("configuring model %q: base_url %q is not an http(s) URL; set it to the API root, such as https://api.openai.com/v1", spec.Name, spec.BaseURL)
	}
	if err := CheckAPI(spec); err != nil {
		return fmt.Errorf("configuring model %q: %w", spec.Name, err)
	}
	return nil
}

// Spec returns the spec the model was built from.
func (m *Model) Spec() task.ModelSpec { return m.spec }

// String names the model without its key.
func (m *Model) String() string { return "openai model " + m.spec.Name + " at " + m.spec.BaseURL }

// GoString keeps %#v from printing the key.
func (m *Model) GoString() string { return m.String() }

// Generate does one subtask: it streams a chat completion, calling progress
// with each piece of text as it arrives, and returns the whole answer with
// its usage and cost. With progress nil nobody follows the text, so it asks
// for the answer in one piece, which is cheaper for both sides. It passes
// w.Sampling on to the upstream (see applySampling); the output's format
// is "json" when the caller asked for JSON and got it. It offers the model
// w.Tools and sends w.After after the input; the model's calls of those
// functions come back as the output's ToolCalls, whole even when streamed,
// and every output has the upstream's FinishReason. It returns promptly
// when ctx is done or w.Deadline passes. Errors are *task.Error values;
// see classify for the codes. A Work with a Body is relayed instead (see
// Relay), its text streamed to progress.
func (m *Model) Generate(ctx context.Context, w task.Work, progress func(delta string)) (task.Output, error) {
	if len(w.Body) > 0 {
		return m.Relay(ctx, &w, textOnly(progress))
	}
	ctx, cancel := m.bound(ctx, w.Deadline)
	defer cancel()
	msgs, err := Messages(w)
	if err != nil {
		return task.Output{}, err
	}
	return m.chat(ctx, w, msgs, progress)
}

// chat asks for a chat completion of msgs, with the work's sampling and
// tools, streamed to progress when it is not nil.
func (m *Model) chat(ctx context.Context, w task.Work, msgs []goopenai.ChatCompletionMessage, progress func(delta string)) (task.Output, error) {
	req := goopenai.ChatCompletionRequest{
		Model:         m.upstream,
		Messages:      msgs,
		Stream:        true,
		StreamOptions: &goopenai.StreamOptions{IncludeUsage: true},
	}
	wantJSON, err := m.applySampling(&req, w.Sampling)
	if err != nil {
		return task.Output{}, err
	}
	if err := m.applyTools(&req, w.Tools); err != nil {
		return task.Output{}, err
	}
	var a answer
	ctx, span := m.startCallSpan(ctx, &req, progress != nil)
	if progress != nil {
		a, err = m.stream(ctx, req, progress)
	} else {
		a, err = m.complete(ctx, req)
	}
	if err == nil && a.usage.PromptTokens == 0 && a.usage.CompletionTokens == 0 {
		a.usage = estimateUsage(msgs, a)
	}
	endCallSpan(span, m.upstream, a, err)
	if err != nil {
		return task.Output{}, err
	}
	u := a.usage
	u.CostUSD = m.spec.Cost(u.PromptTokens, u.CompletionTokens)
	return task.Output{Text: a.text, Format: outputFormat(wantJSON, a.text), Usage: u,
		ToolCalls: callsJSON(a.calls), FinishReason: finishReason(a.finish)}, nil
}

// textOnly adapts a progress callback to Relay's, which also gets chunks.
func textOnly(progress func(string)) func([]byte, string) {
	if progress == nil {
		return nil
	}
	return func(_ []byte, delta string) {
		if delta != "" {
			progress(strings.Clone(delta)) // Relay's delta is valid during the call only
		}
	}
}

// bound applies the work's deadline, or the default timeout when the
// caller set no deadline at all.
func (m *Model) bound(ctx context.Context, deadline time.Time) (context.Context, context.CancelFunc) {
	d, has := ctx.Deadline()
	if !deadline.IsZero() && (!has || deadline.Before(d)) {
		return context.WithDeadline(ctx, deadline)
	}
	if !has && m.timeout > 0 {
		return context.WithTimeout(ctx, m.timeout)
	}
	return ctx, func() {}
}

func estimateUsage(msgs []goopenai.ChatCompletionMessage, a answer) task.Usage {
	u := task.Usage{CompletionTokens: task.EstimateTokens(a.text) + estimateCalls(a.calls)}
	for _, m := range msgs {
		u.PromptTokens += task.EstimateTokens(m.Content) + estimateCalls(fromToolCalls(m.ToolCalls))
	}
	return u
}
