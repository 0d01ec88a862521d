package ollama

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/taskrouter/taskrouter/providers"
	"github.com/taskrouter/taskrouter/task"
)

// Tags is the answer of GET /api/tags: the models pulled on the server.
type Tags struct {
	Models []TagModel `json:"models"`
}

// TagModel is one model of /api/tags.
type TagModel struct {
	// Name is the model's name with its tag, such as llama3.2:latest; it
	// is what requests name. Model repeats it in recent versions.
	Name    string  `json:"name"`
	Model   string  `json:"model"`
	Size    int64   `json:"size"`
	Digest  string  `json:"digest"`
	Details Details `json:"details"`
}

// Details is a model's family, size and quantization.
type Details struct {
	Format            string   `json:"format"`
	Family            string   `json:"family"`
	Families          []string `json:"families"`
	ParameterSize     string   `json:"parameter_size"`
	QuantizationLevel string   `json:"quantization_level"`
}

// Show is the part of POST /api/show's answer a listing reads.
type Show struct {
	// Parameters are the Modelfile's parameters, one per line, such as
	// "num_ctx 8192".
	Parameters string                     `json:"parameters"`
	Details    Details                    `json:"details"`
	ModelInfo  map[string]json.RawMessage `json:"model_info"`
	// Capabilities are what the server says the model can do:
	// completion, vision, tools, embedding, thinking, insert.
	Capabilities []string `json:"capabilities"`
}

// List returns the models the server has pulled (GET /api/tags), each
// with what POST /api/show tells of it: its context window (the num_ctx
// its Modelfile sets, else the model's <architecture>.context_length)
// and its capabilities. A model whose show fails is listed with its name
// and family only; one the server no longer has by then is left out.
func (c *Client) List(ctx context.Context) ([]providers.Listing, error) {
	var tags Tags
	if err := c.call(ctx, http.MethodGet, "/api/tags", nil, &tags); err != nil {
		return nil, err
	}
	out := make([]providers.Listing, len(tags.Models))
	keep := make([]bool, len(tags.Models))
	sem := make(chan struct{}, c.shows)
	var wg sync.WaitGroup
	for i, m := range tags.Models {
		name := m.Name
		if name == "" {
			name = m.Model
		}
		if strings.TrimSpace(name) == "" {
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i], keep[i] = c.describe(ctx, name, m.Details)
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, task.Errorf(task.CodeTimeout, "listing the models of %s: %v", c.base, err)
	}
	var listed []providers.Listing
	for i, l := range out {
		if keep[i] {
			listed = append(listed, l)
		}
	}
	return listed, nil
}

// describe asks /api/show about one model; ok is false when the server
// no longer has it.
func (c *Client) describe(ctx context.Context, name string, d Details) (l providers.Listing, ok bool) {
	l = providers.Listing{ID: name, Family: d.Family}
	var show Show
	err := c.call(ctx, http.MethodPost, "/api/show", map[string]string{"model": name}, &show)
	if te := task.AsError(err); te != nil {
		return l, te.Code != task.CodeNotFound
	}
	l.ContextWindow = ContextWindow(show)
	l.Capabilities = show.Capabilities
	if show.Details.Family != "" {
		l.Family = show.Details.Family
	}
	return l, true
}

// ContextWindow is the window the server serves a model with, as far as
// /api/show tells: the num_ctx parameter of its Modelfile when set, else
// the model's trained <architecture>.context_length (Ollama then serves
// it with its default num_ctx, smaller, unless told otherwise); 0 when
// neither is there.
func ContextWindow(s Show) int {
	if n := numCtx(s.Parameters); n > 0 {
		return n
	}
	var arch string
	if raw, ok := s.ModelInfo["general.architecture"]; ok {
		_ = json.Unmarshal(raw, &arch)
	}
	if arch != "" {
		if n := positiveInt(s.ModelInfo[arch+".context_length"]); n > 0 {
			return n
		}
	}
	for k, raw := range s.ModelInfo {
		if strings.HasSuffix(k, ".context_length") {
			if n := positiveInt(raw); n > 0 {
				return n
			}
		}
	}
	return 0
}

// numCtx reads "num_ctx <n>" from a Modelfile's parameters.
func numCtx(parameters string) int {
	for line := range strings.Lines(parameters) {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "num_ctx" {
			if n, err := strconv.Atoi(f[1]); err == nil && n > 0 && n < 1<<31 {
				return n
			}
		}
	}
	return 0
}

// positiveInt reads a JSON number that is a whole, positive token count
// a model could have; anything else is 0.
func positiveInt(raw json.RawMessage) int {
	var f float64
	if raw == nil || json.Unmarshal(raw, &f) != nil || f < 1 || f >= 1<<31 {
		return 0
	}
	return int(f)
}
