package router

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/taskrouter/taskrouter/memory"
	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/task"
)

// capabilityEmbed is the catalog's capability of embedding models.
const capabilityEmbed = "embed"

// embedder embeds texts for memory's recall by meaning through a model
// with capability embed, chosen as any step's model is, over OpenAI's
// embeddings API. Without such a model it says memory.ErrNoEmbedder, and
// recall goes by terms alone.
type embedder struct{ r *Router }

var _ memory.Embedder = embedder{}

// withEmbedder gives the memory, when it can take one, this router's
// embedder.
func (r *Router) withEmbedder() {
	if m, ok := r.cfg.Memory.(interface {
		WithEmbedder(memory.Embedder) *memory.Memory
	}); ok {
		r.cfg.Memory = m.WithEmbedder(embedder{r})
	}
}

// Embed implements memory.Embedder.
func (e embedder) Embed(ctx context.Context, texts []string) ([][]float32, string, error) {
	sel, err := e.r.sel.Select(ctx, registry.Query{Capability: capabilityEmbed})
	if err != nil {
		if te := task.AsError(err); te.Code == task.CodeNoModel || te.Code == task.CodeModelUnavailable {
			return nil, "", memory.ErrNoEmbedder
		}
		return nil, "", err
	}
	model := sel.Model.Name
	body, err := json.Marshal(map[string]any{"model": model, "input": texts})
	if err != nil {
		return nil, "", err
	}
	off := false
	input := strings.Join(texts, "\n")
	req := task.Request{ID: task.NewID("req_"), Input: input, Hints: task.Hints{Model: model}, Body: body, API: task.APIEmbeddings, Cache: &off,
		Plan: &task.Plan{Tasks: []task.Subtask{{ID: "embed", Capability: capabilityEmbed, Input: input, Deps: []string{}}}}}
	resp := e.r.handle(ctx, &req, time.Now(), nil)
	if resp.Error != nil {
		return nil, "", fmt.Errorf("embedding with %s: %w", model, resp.Error)
	}
	vecs, err := decodeEmbeddings(resp.Body, len(texts))
	if err != nil {
		return nil, "", fmt.Errorf("embedding with %s: %w", model, err)
	}
	return vecs, model, nil
}

// decodeEmbeddings reads n vectors, as floats, from an OpenAI embeddings
// response body.
func decodeEmbeddings(body json.RawMessage, n int) ([][]float32, error) {
	if !gjson.ValidBytes(body) {
		return nil, fmt.Errorf("the model answered without an embeddings body")
	}
	vecs := make([][]float32, n)
	var bad error
	gjson.GetBytes(body, "data").ForEach(func(_, item gjson.Result) bool {
		i := int(item.Get("index").Int())
		emb := item.Get("embedding")
		if i < 0 || i >= n || !emb.IsArray() {
			bad = fmt.Errorf("the embeddings body has an item with index %d or an embedding that is not an array of numbers", i)
			return false
		}
		for _, x := range emb.Array() {
			vecs[i] = append(vecs[i], float32(x.Float()))
		}
		return true
	})
	if bad != nil {
		return nil, bad
	}
	for i, v := range vecs {
		if len(v) == 0 {
			return nil, fmt.Errorf("the embeddings body has no vector for input %d", i)
		}
	}
	return vecs, nil
}
