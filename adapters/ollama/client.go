// Package ollama reads an Ollama server's model list for the providers
// package: /api/tags for the models, /api/show for each one's context
// window and what the server says it can do (completion, vision, tools,
// embedding, thinking, insert). Calls to the models go through Ollama's
// OpenAI-compatible /v1 and adapters/openai; this package never calls a
// model and never reads the environment (ParseHost reads a value of
// OLLAMA_HOST that the caller passes).
package ollama

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/taskrouter/taskrouter/providers"
	"github.com/taskrouter/taskrouter/task"
)

// Defaults of the options.
const (
	// DefaultTimeout bounds each call to the server.
	DefaultTimeout = 10 * time.Second
	// DefaultShowConcurrency is how many /api/show calls run at once.
	DefaultShowConcurrency = 4
)

// maxAnswerBytes bounds an answer of /api/tags or /api/show; /api/show
// without verbose carries a licence and a template, tens of kilobytes.
const maxAnswerBytes = 8 << 20

// Client reads one Ollama server's models. It implements
// providers.Lister and providers.Prober, and is safe for concurrent use.
type Client struct {
	base    string
	http    *http.Client
	headers http.Header
	timeout time.Duration
	shows   int
}

var (
	_ providers.Lister = (*Client)(nil)
	_ providers.Prober = (*Client)(nil)
)

// Option tunes a Client.
type Option func(*Client) error

// WithTimeout bounds each call to the server (default DefaultTimeout).
func WithTimeout(d time.Duration) Option {
	return func(c *Client) error {
		if d <= 0 {
			return errors.New("WithTimeout: the timeout must be positive")
		}
		c.timeout = d
		return nil
	}
}

// WithHTTPClient sends the calls through hc.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("WithHTTPClient: the client is nil")
		}
		c.http = hc
		return nil
	}
}

// WithHeaders adds headers to every call, for an Ollama behind a proxy.
func WithHeaders(h map[string]string) Option {
	return func(c *Client) error {
		for k, v := range h {
			c.headers.Set(k, v)
		}
		return nil
	}
}

// WithAPIKey sends key as a Bearer token, for an Ollama behind a proxy
// that asks for one; the caller reads it from the environment.
func WithAPIKey(key string) Option {
	return func(c *Client) error {
		if key != "" {
			c.headers.Set("Authorization", "Bearer "+key)
		}
		return nil
	}
}

// New returns a Client for the server at baseURL, its root such as
// http://127.0.0.1:11434 (see ParseHost).
func New(baseURL string, opts ...Option) (*Client, error) {
	if !strings.HasPrefix(baseURL, "http://") && !strings.HasPrefix(baseURL, "https://") {
		return nil, fmt.Errorf("ollama: base URL %q must be http(s)://host:port, such as http://127.0.0.1:11434", baseURL)
	}
	c := &Client{base: strings.TrimRight(baseURL, "/"), http: http.DefaultClient, headers: http.Header{},
		timeout: DefaultTimeout, shows: DefaultShowConcurrency}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, fmt.Errorf("ollama: %w", err)
		}
	}
	return c, nil
}

// Probe asks the server its version (GET /api/version): a quick way to
// tell whether an Ollama answers at all. Bound it with ctx.
func (c *Client) Probe(ctx context.Context) error {
	var v struct {
		Version string `json:"version"`
	}
	if err := c.call(ctx, http.MethodGet, "/api/version", nil, &v); err != nil {
		return err
	}
	if v.Version == "" {
		return task.Errorf(task.CodeUpstream, "%s/api/version answered no version; is this an Ollama?", c.base)
	}
	return nil
}

// call sends one request and decodes its JSON answer into out. Its
// errors are *task.Error: CodeNotFound for a 404, CodeAuth for 401 and
// 403, CodeUpstream for the rest.
func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return task.Errorf(task.CodeInvalidRequest, "calling %s%s: %v", c.base, path, err)
	}
	req.Header = c.headers.Clone()
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return task.Errorf(task.CodeUpstream, "calling %s%s: %v; is Ollama running there?", c.base, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	switch {
	case err != nil:
		return task.Errorf(task.CodeUpstream, "reading %s%s: %v", c.base, path, err)
	case len(data) > maxAnswerBytes:
		return task.Errorf(task.CodeUpstream, "%s%s answered over %d MiB; is this an Ollama?", c.base, path, maxAnswerBytes>>20)
	case resp.StatusCode != http.StatusOK:
		return statusError(c.base+path, resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return task.Errorf(task.CodeUpstream, "%s%s answered what Ollama does not: %v", c.base, path, err)
	}
	return nil
}

// statusError reads Ollama's {"error": "..."} answer.
func statusError(url string, status int, data []byte) error {
	var e struct {
		Error string `json:"error"`
	}
	msg := fmt.Sprintf("%s answered HTTP %d", url, status)
	if json.Unmarshal(data, &e) == nil && e.Error != "" {
		msg += ": " + strings.Join(strings.Fields(e.Error), " ")
	}
	switch status {
	case http.StatusNotFound:
		return task.Errorf(task.CodeNotFound, "%s", msg)
	case http.StatusUnauthorized, http.StatusForbidden:
		return task.Errorf(task.CodeAuth, "%s; the server wants a key (api_key_env)", msg)
	}
	return task.Errorf(task.CodeUpstream, "%s", msg)
}
