package providers

import (
	"maps"
	"slices"

	"github.com/taskrouter/taskrouter/task"
)

// Capabilities inference gives a discovered model that a name or the
// server marks as special; the catalog may lack some (caption and vqa
// until a catalog file defines them), and those are dropped.
const (
	capCode    = "code"
	capEmbed   = "embed"
	capReason  = "reason"
	capCaption = "caption"
	capVQA     = "vqa"
)

// Qualities of inferred capabilities: a model's specialty scores above a
// general model's 0.5 (the default), and a code model's other text work
// below it, so that the registry picks each model for what it is best at.
const (
	specialtyQuality = 0.7
	sidelineQuality  = 0.4
)

// Well-known name patterns, matched against the model id.
var (
	// nonTextPatterns are models that read or write no text a capability
	// here takes: speech, images, video, moderation, reranking, and the
	// legacy completion-only models.
	nonTextPatterns = []string{"whisper*", "*tts*", "dall-e*", "gpt-image*", "*moderation*", "*rerank*",
		"*realtime*", "*transcribe*", "*-audio*", "cogview*", "cogvideo*", "*seedream*", "*seedance*",
		"babbage*", "davinci*"}
	embedPatterns  = []string{"*embed*", "bge-*", "*/bge-*", "all-minilm*", "e5-*", "*-e5-*"}
	codePatterns   = []string{"*code*", "*devstral*"}
	visionPatterns = []string{"llava*", "*/llava*", "bakllava*", "*-vl*", "*vl:*", "*vl", "*vision*",
		"moondream*", "minicpm-v*", "*-4v*", "*.5v*"}
	reasonPatterns = []string{"*-r1*", "qwq*", "*thinking*", "*reason*", "o1*", "o3*", "o4*", "magistral*"}
)

// Inference turns what a server says about a model, and its name, into
// capabilities of the catalog.
type Inference struct {
	// Text are the capabilities of a general text model; see
	// TextCapabilities.
	Text []string
	// Known reports whether the catalog has a capability; inferred ones it
	// lacks are dropped. Nil takes every capability as known.
	Known func(string) bool
	// Skip are capabilities left to other models: without a config,
	// discovered models take only the work no built-in model does.
	Skip []string
}

// TextCapabilities are the capabilities of the catalog a general chat
// model can do: those that read text or a prompt and write text, JSON or
// a number, except the ones a request names a model for (embed, complete)
// and the router's own roles, plan (the LLM planner) and merge (the
// model-written merge): a model takes those only when a rule gives them.
func TextCapabilities(catalog []task.Capability) []string {
	var out []string
	for _, c := range catalog {
		if c.Direct || c.Name == "plan" || c.Name == "merge" || len(c.Inputs) == 0 || len(c.Outputs) == 0 {
			continue
		}
		if allIn(c.Inputs, "text", "prompt") && allIn(c.Outputs, "text", "json", "number") {
			out = append(out, c.Name)
		}
	}
	return out
}

func allIn(list []string, allowed ...string) bool {
	for _, v := range list {
		if !slices.Contains(allowed, v) {
			return false
		}
	}
	return true
}

// Capabilities returns a listed model's capabilities and the qualities
// that differ from the default: those of the first rule whose pattern
// matches its id, else the inferred ones. No capabilities means the model
// is not registered.
func (inf Inference) Capabilities(l Listing, rules []Rule) ([]string, map[string]float64) {
	for _, r := range rules {
		if Match(r.Pattern, l.ID) {
			return inf.keep(r.Capabilities), maps.Clone(r.Quality)
		}
	}
	caps, quality := inf.infer(l)
	caps = inf.keep(caps)
	for c := range quality {
		if !slices.Contains(caps, c) {
			delete(quality, c)
		}
	}
	if len(quality) == 0 {
		quality = nil
	}
	return caps, quality
}

// infer reads the server's capabilities first and the name second: the
// server knows, and a name only hints.
func (inf Inference) infer(l Listing) ([]string, map[string]float64) {
	says := l.Capabilities
	writesText := slices.Contains(says, ServerCompletion)
	switch {
	case isEmbedding(l):
		return []string{capEmbed}, nil
	case len(says) > 0 && !writesText:
		return nil, nil // the server says it writes no text
	case !writesText && matchAny(nonTextPatterns, l.ID):
		return nil, nil
	}
	caps := slices.Clone(inf.Text)
	quality := map[string]float64{}
	if slices.Contains(says, ServerInsert) || matchAny(codePatterns, l.ID) {
		for _, c := range caps {
			quality[c] = sidelineQuality
		}
		caps, quality[capCode] = appendNew(caps, capCode), specialtyQuality
	}
	if slices.Contains(says, ServerVision) || matchAny(visionPatterns, l.ID) {
		caps = appendNew(caps, capCaption, capVQA)
		quality[capCaption], quality[capVQA] = specialtyQuality, specialtyQuality
	}
	if slices.Contains(says, ServerThinking) || matchAny(reasonPatterns, l.ID) {
		caps, quality[capReason] = appendNew(caps, capReason), specialtyQuality
	}
	return caps, quality
}

// isEmbedding: the server says embedding and not completion, or it says
// neither and the name or family is an embedding model's.
func isEmbedding(l Listing) bool {
	if slices.Contains(l.Capabilities, ServerCompletion) {
		return false
	}
	return slices.Contains(l.Capabilities, ServerEmbedding) || matchAny(embedPatterns, l.ID) || Match("*bert*", l.Family)
}

// keep drops the capabilities the catalog lacks or that are skipped,
// and duplicates, in order.
func (inf Inference) keep(caps []string) []string {
	var out []string
	for _, c := range caps {
		if (inf.Known == nil || inf.Known(c)) && !slices.Contains(inf.Skip, c) && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

func appendNew(list []string, add ...string) []string {
	for _, a := range add {
		if !slices.Contains(list, a) {
			list = append(list, a)
		}
	}
	return list
}
