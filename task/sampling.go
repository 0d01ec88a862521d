package task

import (
	"encoding/json"
	"math"
	"strings"
)

// Sampling is how a caller asks the model that writes the answer to
// generate, in OpenAI's terms: a chat client's temperature, max_tokens and
// the rest. The router gives it to the step that writes the answer (the
// one subtask of a one-step plan, or the model-written merge), so that a
// request routed straight to a model behaves as a direct call would;
// intermediate steps keep their models' defaults. Remote models pass it
// on; local models, which do not sample, ignore it.
type Sampling struct {
	Temperature      *float64 `json:"temperature,omitempty"`
	TopP             *float64 `json:"top_p,omitempty"`
	MaxTokens        int      `json:"max_tokens,omitempty"`
	Stop             []string `json:"stop,omitempty"`
	Seed             *int64   `json:"seed,omitempty"`
	PresencePenalty  *float64 `json:"presence_penalty,omitempty"`
	FrequencyPenalty *float64 `json:"frequency_penalty,omitempty"`
	// ResponseFormat is OpenAI's response_format object as sent:
	// {"type": "text"}, {"type": "json_object"} or {"type": "json_schema",
	// "json_schema": {...}}.
	ResponseFormat json.RawMessage `json:"response_format,omitempty"`
}

// Limits of Sampling, as OpenAI's API sets them.
const (
	MaxStopSequences  = 4
	maxStopBytes      = 256
	maxResponseFormat = 64 << 10
)

// Check reports the first setting out of its range, naming the field and
// the range; a nil Sampling is fine.
func (s *Sampling) Check() error {
	if s == nil {
		return nil
	}
	for _, f := range []struct {
		name     string
		v        *float64
		min, max float64
	}{{"temperature", s.Temperature, 0, 2}, {"top_p", s.TopP, 0, 1},
		{"presence_penalty", s.PresencePenalty, -2, 2}, {"frequency_penalty", s.FrequencyPenalty, -2, 2}} {
		if f.v != nil && (math.IsNaN(*f.v) || *f.v < f.min || *f.v > f.max) {
			return Errorf(CodeInvalidRequest, "%s is %v; it must be between %v and %v", f.name, *f.v, f.min, f.max)
		}
	}
	if s.MaxTokens < 0 {
		return Errorf(CodeInvalidRequest, "max_tokens is %d; it must be at least 1", s.MaxTokens)
	}
	if len(s.Stop) > MaxStopSequences {
		return Errorf(CodeInvalidRequest, "stop has %d sequences; at most %d are allowed", len(s.Stop), MaxStopSequences)
	}
	for _, st := range s.Stop {
		if st == "" || len(st) > maxStopBytes {
			return Errorf(CodeInvalidRequest, "each stop sequence must be 1 to %d bytes long", maxStopBytes)
		}
	}
	if len(s.ResponseFormat) > 0 {
		if len(s.ResponseFormat) > maxResponseFormat {
			return Errorf(CodeInvalidRequest, "response_format is %d bytes, more than the limit of %d", len(s.ResponseFormat), maxResponseFormat)
		}
		var rf struct {
			Type       string `json:"type"`
			JSONSchema *struct {
				Name string `json:"name"`
			} `json:"json_schema"`
		}
		if err := json.Unmarshal(s.ResponseFormat, &rf); err != nil {
			return Errorf(CodeInvalidRequest, "response_format must be an object such as {\"type\": \"json_object\"}")
		}
		switch rf.Type {
		case "text", "json_object":
		case "json_schema":
			if rf.JSONSchema == nil || strings.TrimSpace(rf.JSONSchema.Name) == "" {
				return Errorf(CodeInvalidRequest, "response_format of type json_schema needs a json_schema object with a name")
			}
		default:
			return Errorf(CodeInvalidRequest, "response_format type %q: use text, json_object or json_schema", rf.Type)
		}
	}
	return nil
}
