package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/tidwall/gjson"

	"github.com/taskrouter/taskrouter/task"
)

// jobRequest is the body of POST /v1/jobs. Unknown fields are errors.
// Its fields are flat, like a chat completion's, and so are the generation
// settings: a job takes temperature, max_tokens and the rest as chat
// completions do, with the same checks.
type jobRequest struct {
	// Model is "taskrouter" or a registered model name; empty means the
	// default of the route (taskrouter for POST /v1/jobs, the hook's model
	// for webhooks).
	Model       string            `json:"model"`
	Input       string            `json:"input"`
	Messages    []task.Message    `json:"messages"`
	Planner     string            `json:"planner"`
	Policy      string            `json:"policy"`
	PreferLocal bool              `json:"prefer_local"`
	MaxCostUSD  float64           `json:"max_cost"`
	TimeoutMs   int64             `json:"timeout_ms"`
	CallbackURL string            `json:"callback_url"`
	Metadata    map[string]string `json:"metadata"`
	// Conversation, MemoryScope and Cache are the request's memory, as
	// a chat completion's.
	Conversation string `json:"conversation"`
	MemoryScope  string `json:"memory_scope"`
	Cache        *bool  `json:"cache"`
	// FileIDs name files uploaded with POST /v1/files (or produced by
	// earlier requests): the request's attachments, {{a1}} onwards.
	FileIDs []string `json:"file_ids"`
	jobSampling
}

// jobSampling is a job request's generation settings as sent, for
// samplingReader to read as it reads a chat completion's.
type jobSampling struct {
	Temperature         json.RawMessage `json:"temperature"`
	TopP                json.RawMessage `json:"top_p"`
	MaxTokens           json.RawMessage `json:"max_tokens"`
	MaxCompletionTokens json.RawMessage `json:"max_completion_tokens"`
	Stop                json.RawMessage `json:"stop"`
	Seed                json.RawMessage `json:"seed"`
	PresencePenalty     json.RawMessage `json:"presence_penalty"`
	FrequencyPenalty    json.RawMessage `json:"frequency_penalty"`
	ResponseFormat      json.RawMessage `json:"response_format"`
}

// read checks the settings; nil when none is set.
func (js jobSampling) read() (*task.Sampling, *apiError) {
	var r samplingReader
	for _, f := range []struct {
		name string
		raw  json.RawMessage
	}{{"temperature", js.Temperature}, {"top_p", js.TopP}, {"max_tokens", js.MaxTokens},
		{"max_completion_tokens", js.MaxCompletionTokens}, {"stop", js.Stop}, {"seed", js.Seed},
		{"presence_penalty", js.PresencePenalty}, {"frequency_penalty", js.FrequencyPenalty},
		{"response_format", js.ResponseFormat}} {
		if len(f.raw) == 0 {
			continue
		}
		if e := r.field(f.name, gjson.ParseBytes(f.raw)); e != nil {
			return nil, e
		}
	}
	return r.s, nil
}

// Metadata bounds, as OpenAI's.
const (
	maxMetadataKeys  = 16
	maxMetadataKey   = 64
	maxMetadataValue = 512
)

// decodeJobRequest parses and checks a job request.
func decodeJobRequest(body []byte, lim task.Limits) (jobRequest, task.Request, *apiError) {
	var jr jobRequest
	if e := checkDepth(body); e != nil {
		return jr, task.Request{}, e
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&jr); err != nil {
		return jr, task.Request{}, badRequest("invalid_json", fmt.Sprintf("We could not parse the JSON body of your request: %v. Send an object such as {\"input\": \"...\"}.", err))
	}
	if dec.More() {
		return jr, task.Request{}, badRequest("invalid_json", "The body holds more than one JSON value; send one object.")
	}
	for i, m := range jr.Messages {
		if !roles[m.Role] {
			return jr, task.Request{}, badRequest("invalid_role", fmt.Sprintf("messages[%d].role %q must be one of system, developer, user, assistant, tool.", i, m.Role)).withParam(fmt.Sprintf("messages[%d].role", i))
		}
	}
	if e := checkMetadata(jr.Metadata); e != nil {
		return jr, task.Request{}, e
	}
	sampling, e := jr.jobSampling.read()
	if e != nil {
		return jr, task.Request{}, e
	}
	req := task.Request{Input: jr.Input, Messages: jr.Messages, Planner: jr.Planner, TimeoutMs: jr.TimeoutMs,
		Hints: task.Hints{Policy: jr.Policy, PreferLocal: jr.PreferLocal, MaxCostUSD: jr.MaxCostUSD}, Sampling: sampling,
		Conversation: jr.Conversation, MemoryScope: jr.MemoryScope, Cache: jr.Cache}
	for i, id := range jr.FileIDs {
		if !task.ValidArtifactID(id) {
			return jr, task.Request{}, badRequest("file_not_found", fmt.Sprintf("file_ids[%d] %s is not a file id of this router; upload the file with POST /v1/files and send its id.", i, quote(id))).withParam(fmt.Sprintf("file_ids[%d]", i))
		}
		req.Attachments = append(req.Attachments, task.Attachment{Artifact: id})
	}
	if err := req.Check(lim); err != nil {
		return jr, req, fromTaskError(task.AsError(err))
	}
	return jr, req, nil
}

func checkMetadata(md map[string]string) *apiError {
	if len(md) > maxMetadataKeys {
		return badRequest("invalid_metadata", fmt.Sprintf("metadata has %d keys; at most %d are allowed.", len(md), maxMetadataKeys)).withParam("metadata")
	}
	for k, v := range md {
		if len(k) > maxMetadataKey || len(v) > maxMetadataValue {
			return badRequest("invalid_metadata", fmt.Sprintf("metadata keys may be %d bytes and values %d bytes at most.", maxMetadataKey, maxMetadataValue)).withParam("metadata")
		}
	}
	return nil
}
