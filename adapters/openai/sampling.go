package openai

import (
	"encoding/json"
	"math"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/taskrouter/taskrouter/task"
)

// emptySchema stands in for a json_schema without a schema: go-openai
// always sends the schema key, and {} accepts any JSON, as no schema does,
// where null would be refused.
var emptySchema = json.RawMessage(`{}`)

// responseFormat is OpenAI's response_format object as a caller sends it.
type responseFormat struct {
	Type       goopenai.ChatCompletionResponseFormatType `json:"type"`
	JSONSchema *struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Schema      json.RawMessage `json:"schema"`
		Strict      bool            `json:"strict"`
	} `json:"json_schema"`
}

// applySampling sets the output limit and the caller's sampling on req.
// It reports whether the caller asked for a JSON answer. A nil s leaves
// the model's own limit and the upstream's defaults.
func (m *Model) applySampling(req *goopenai.ChatCompletionRequest, s *task.Sampling) (wantJSON bool, err error) {
	limit := m.spec.MaxOutputTokens
	if s != nil && s.MaxTokens > 0 && (limit <= 0 || s.MaxTokens < limit) {
		limit = s.MaxTokens
	}
	if m.completionTokensField {
		req.MaxCompletionTokens = limit
	} else {
		req.MaxTokens = limit
	}
	if s == nil {
		return false, nil
	}
	// Models that fix their sampling (reasoning models) are sent none of
	// it and ignore it, as local models do: go-openai refuses to send
	// these fields to them, and the router, not the caller, may have
	// picked the model.
	if !m.fixedSampling {
		req.Temperature = explicit(s.Temperature)
		req.TopP = explicit(s.TopP)
		req.PresencePenalty = explicit(s.PresencePenalty)
		req.FrequencyPenalty = explicit(s.FrequencyPenalty)
	}
	req.Stop = s.Stop
	if s.Seed != nil {
		seed := int(*s.Seed) // int is 64 bits on every platform we build for
		req.Seed = &seed
	}
	if len(s.ResponseFormat) == 0 {
		return false, nil
	}
	req.ResponseFormat, err = m.responseFormat(s.ResponseFormat)
	if err != nil {
		return false, err
	}
	return req.ResponseFormat.Type != goopenai.ChatCompletionResponseFormatTypeText, nil
}

// explicit converts a setting to go-openai's float32 field, which is
// omitempty: a zero would be dropped and the upstream would use its own
// default (1 for temperature and top_p; some servers set penalties from
// the model's generation config). So an explicit zero is sent as
// math.SmallestNonzeroFloat32 (1e-45 on the wire), the workaround
// go-openai's maintainers give in sashabaranov/go-openai#9; upstreams
// treat it as zero (vLLM samples greedily below 1e-5), and it also passes
// servers that want top_p above 0. Unset stays unset.
func explicit(v *float64) float32 {
	if v == nil {
		return 0
	}
	if f := float32(*v); f != 0 {
		return f
	}
	return math.SmallestNonzeroFloat32
}

// responseFormat maps a caller's response_format to go-openai's. A
// json_schema's schema goes out as the caller wrote it, as a
// json.RawMessage: decoding it into go-openai's jsonschema.Definition
// would drop the keywords that type lacks (anyOf, $defs, title...), and
// encoding/json only compacts it.
func (m *Model) responseFormat(raw json.RawMessage) (*goopenai.ChatCompletionResponseFormat, error) {
	var rf responseFormat
	if err := json.Unmarshal(raw, &rf); err != nil {
		return nil, task.Errorf(task.CodeInvalidRequest, "model %q: response_format is not an object: %v", m.spec.Name, err)
	}
	out := &goopenai.ChatCompletionResponseFormat{Type: rf.Type}
	switch rf.Type {
	case goopenai.ChatCompletionResponseFormatTypeText, goopenai.ChatCompletionResponseFormatTypeJSONObject:
	case goopenai.ChatCompletionResponseFormatTypeJSONSchema:
		if rf.JSONSchema == nil {
			return nil, task.Errorf(task.CodeInvalidRequest, "model %q: response_format of type json_schema has no json_schema object", m.spec.Name)
		}
		js := rf.JSONSchema
		schema := js.Schema
		if len(schema) == 0 || string(schema) == "null" {
			schema = emptySchema
		}
		out.JSONSchema = &goopenai.ChatCompletionResponseFormatJSONSchema{
			Name: js.Name, Description: js.Description, Strict: js.Strict, Schema: schema,
		}
	default:
		return nil, task.Errorf(task.CodeInvalidRequest, "model %q: response_format type %q: use text, json_object or json_schema", m.spec.Name, rf.Type)
	}
	return out, nil
}

// outputFormat is "json" when the caller asked for JSON and got a JSON
// document, else "text".
func outputFormat(wantJSON bool, text string) string {
	if wantJSON && json.Valid([]byte(text)) {
		return "json"
	}
	return "text"
}
