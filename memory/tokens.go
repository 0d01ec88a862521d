package memory

import (
	"errors"
	"strings"
	"sync"

	"github.com/tiktoken-go/tokenizer"

	"github.com/taskrouter/taskrouter/task"
)

// codecs holds tiktoken's encodings by model name once looked up (nil for
// a model tiktoken does not know). Their vocabularies are compiled into
// the binary and built on first use: nothing is downloaded.
var codecs sync.Map // string -> tokenizer.Codec (nil when unknown)

// codecFor returns tiktoken's encoding of a model, or nil: only OpenAI's
// models (by their upstream name) have one; every other family gets the
// calibrated estimate.
func codecFor(spec task.ModelSpec) tokenizer.Codec {
	if spec.Backend != task.BackendOpenAI {
		return nil
	}
	name := spec.UpstreamModel
	if name == "" {
		name = spec.Name
	}
	name = strings.ToLower(name)
	if c, ok := codecs.Load(name); ok {
		codec, _ := c.(tokenizer.Codec)
		return codec
	}
	codec, err := tokenizer.ForModel(tokenizer.Model(name))
	if errors.Is(err, tokenizer.ErrModelNotSupported) || err != nil {
		codec = nil
	}
	codecs.Store(name, codec)
	return codec
}

// Tokens counts text's tokens as the model spec names reads them:
// tiktoken's encoding for OpenAI's models, the calibrated estimate
// (task.EstimateTokens) for the others.
func Tokens(spec task.ModelSpec, text string) int {
	if c := codecFor(spec); c != nil {
		if n, err := c.Count(text); err == nil {
			return n
		}
	}
	return task.EstimateTokens(text)
}

// Exact reports whether Tokens counts with the model's own tokenizer.
func Exact(spec task.ModelSpec) bool { return codecFor(spec) != nil }
