package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/taskrouter/taskrouter/providers"
	"github.com/taskrouter/taskrouter/task"
)

// DefaultListTimeout bounds a listing whose Lister was given no timeout.
const DefaultListTimeout = 10 * time.Second

// maxListBytes bounds a model list: OpenRouter's, the longest known,
// lists a few hundred models with descriptions in about a megabyte.
const maxListBytes = 16 << 20

// Lister lists the models of an OpenAI-compatible API (GET <base>/models),
// with the context window of each when the server tells it: vLLM's
// max_model_len, the context_length of OpenRouter and others, Groq's
// context_window. It implements providers.Lister and never reads the
// environment.
type Lister struct {
	url     string
	doer    *transport
	key     string
	secret  secret
	timeout time.Duration
}

var _ providers.Lister = (*Lister)(nil)

// NewLister returns a Lister for the API at baseURL (its root, such as
// https://api.moonshot.cn/v1). apiKey is the value of the variable keyEnv
// names, read by the caller, sent as a Bearer token and never shown in
// errors; with keyEnv set and apiKey empty every listing fails with
// CodeAuth naming the variable. WithHTTPClient, WithHeaders and
// WithTimeout (the bound of one listing, default DefaultListTimeout)
// apply; the other options are for models.
func NewLister(baseURL, apiKey, keyEnv string, opts ...Option) (*Lister, error) {
	if err := checkSpec(task.ModelSpec{Name: "models", BaseURL: baseURL}); err != nil {
		return nil, fmt.Errorf("listing the models of %s: base_url %q is not an http(s) URL; set it to the API root, such as https://api.openai.com/v1", baseURL, baseURL)
	}
	c := config{timeout: DefaultListTimeout, headers: http.Header{}}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, fmt.Errorf("configuring the model list of %s: %w", baseURL, err)
		}
	}
	if c.httpClient == nil {
		c.httpClient = defaultHTTPClient()
	}
	return &Lister{url: strings.TrimRight(baseURL, "/") + "/models", key: apiKey, secret: secret{key: apiKey, env: keyEnv},
		doer: &transport{next: c.httpClient, headers: c.headers, keyUnset: keyEnv != "" && apiKey == ""}, timeout: c.timeout}, nil
}

// List returns the models the API lists now. Its errors are *task.Error:
// CodeAuth for a refused or missing key, CodeNotFound when the server has
// no model list at that URL, CodeUpstream for the rest (unreachable, 5xx,
// an answer that is no model list).
func (l *Lister) List(ctx context.Context) ([]providers.Listing, error) {
	if l.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, l.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.url, nil)
	if err != nil {
		return nil, task.Errorf(task.CodeInvalidRequest, "listing models at %s: %v", l.url, err)
	}
	if l.key != "" {
		req.Header.Set("Authorization", "Bearer "+l.key)
	}
	resp, err := l.doer.Do(req)
	if err != nil {
		return nil, l.transportError(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxListBytes+1))
	if err != nil {
		return nil, l.transportError(err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, l.statusError(resp.StatusCode, body)
	}
	if len(body) > maxListBytes {
		return nil, task.Errorf(task.CodeUpstream, "listing models at %s: the list is over %d MiB; this is no model list", l.url, maxListBytes>>20)
	}
	listings, err := ParseModelList(body)
	if err != nil {
		return nil, task.Errorf(task.CodeUpstream, "listing models at %s: %v; check that base_url is an OpenAI-compatible API", l.url, err)
	}
	return listings, nil
}

func (l *Lister) transportError(err error) error {
	if errors.Is(err, errKeyUnset) {
		return task.Errorf(task.CodeAuth, "listing models at %s: no call was made: %s", l.url, l.secret.checkKey())
	}
	return task.Errorf(task.CodeUpstream, "listing models at %s: %s; check base_url and that the server is running", l.url, l.secret.clean(err.Error()))
}

func (l *Lister) statusError(status int, body []byte) error {
	msg := fmt.Sprintf("listing models at %s: HTTP %d", l.url, status)
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		msg += ": " + strings.TrimRight(l.secret.clean(e.Error.Message), ". ")
	}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return task.Errorf(task.CodeAuth, "%s; %s", msg, l.secret.checkKey())
	case status == http.StatusNotFound || status == http.StatusMethodNotAllowed:
		return task.Errorf(task.CodeNotFound, "%s; the server lists no models there: check base_url, or configure its models under models: instead", msg)
	}
	return task.Errorf(task.CodeUpstream, "%s; the next refresh tries again", msg)
}

// ParseModelList reads the answer of GET /models: OpenAI's
// {"object": "list", "data": [...]}, or a bare array of the same entries
// (Together's). Each entry needs an id; its context window is the first
// of max_model_len, context_length and context_window that holds a
// positive number (or a string of one).
func ParseModelList(body []byte) ([]providers.Listing, error) {
	var entries []modelEntry
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) > 0 && t[0] == '[' {
		if err := json.Unmarshal(t, &entries); err != nil {
			return nil, fmt.Errorf("decoding the model list: %w", err)
		}
	} else {
		var list struct {
			Data *[]modelEntry `json:"data"`
		}
		if err := json.Unmarshal(body, &list); err != nil {
			return nil, fmt.Errorf("decoding the model list: %w", err)
		}
		if list.Data == nil {
			return nil, fmt.Errorf("the answer has no data list of models")
		}
		entries = *list.Data
	}
	out := make([]providers.Listing, 0, len(entries))
	for _, e := range entries {
		if strings.TrimSpace(e.ID) == "" {
			continue
		}
		window := 0
		for _, w := range []flexInt{e.MaxModelLen, e.ContextLength, e.ContextWindow} {
			if w > 0 {
				window = int(w)
				break
			}
		}
		out = append(out, providers.Listing{ID: e.ID, ContextWindow: window})
	}
	return out, nil
}

// modelEntry is one model of a list, with the window fields servers add.
type modelEntry struct {
	ID            string  `json:"id"`
	MaxModelLen   flexInt `json:"max_model_len"`
	ContextLength flexInt `json:"context_length"`
	ContextWindow flexInt `json:"context_window"`
}

// flexInt is a token count as servers write it: a number, or a string of
// one; anything else, or a count beyond any model's, reads as 0 (not told).
type flexInt int64

// maxWindow bounds a believable context window.
const maxWindow = 1 << 31

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 || v >= maxWindow {
		*f = 0
		return nil
	}
	*f = flexInt(v)
	return nil
}
