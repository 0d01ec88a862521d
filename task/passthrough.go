package task

import (
	"encoding/json"
	"strings"
)

// chatBody is an OpenAI chat completions request body without its model.
type chatBody struct {
	Messages []Message `json:"messages"`
	*Sampling
	Tools             json.RawMessage `json:"tools,omitempty"`
	ToolChoice        json.RawMessage `json:"tool_choice,omitempty"`
	ParallelToolCalls *bool           `json:"parallel_tool_calls,omitempty"`
	Stream            bool            `json:"stream,omitempty"`
	StreamOptions     *streamOptions  `json:"stream_options,omitempty"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// ChatBody writes the OpenAI chat completions body of a request that
// came without one (tr.v1.req, a job) for the model it names: the
// caller's messages as sent (content parts too), Input as a last user
// message when set, and Sampling and Tools under OpenAI's names. Nothing
// is added: no system message, no default max_tokens. It has no "model",
// which the model's adapter sets; stream asks for a streamed answer with
// its usage.
func (r Request) ChatBody(stream bool) (json.RawMessage, error) {
	b := chatBody{Messages: r.Messages, Sampling: r.Sampling, Stream: stream}
	if b.Messages == nil {
		b.Messages = []Message{}
	}
	if input := r.Input; strings.TrimSpace(input) != "" {
		b.Messages = append(b.Messages[:len(b.Messages):len(b.Messages)], Message{Role: "user", Content: input})
	}
	if t := r.Tools; t != nil {
		b.Tools, b.ToolChoice, b.ParallelToolCalls = t.Functions, t.Choice, t.Parallel
	}
	if stream {
		b.StreamOptions = &streamOptions{IncludeUsage: true}
	}
	return json.Marshal(b)
}

// checkMedia refuses content parts other than text unless a model is
// named: the router's own steps and the built-in models read text, and
// would answer as if the image or audio were not there.
func (r Request) checkMedia() error {
	if r.Model != "" {
		return nil
	}
	for i, m := range r.Messages {
		if t := m.Media(); t != "" {
			return Errorf(CodeInvalidRequest, "messages[%d] has a content part of type %q, which taskrouter's planned steps cannot read; "+
				"send the data as \"attachments\" ([{\"name\", \"mime\", \"data\": base64}] or [{\"artifact\": id}]) with text parts only, "+
				"or name a model that takes it in \"model\"", i, t)
		}
	}
	return nil
}

// unpackedBody is what Unpacked reads of a chat completions body.
type unpackedBody struct {
	Messages []struct {
		Role       string          `json:"role"`
		Content    json.RawMessage `json:"content"`
		ToolCalls  json.RawMessage `json:"tool_calls"`
		ToolCallID string          `json:"tool_call_id"`
		Name       string          `json:"name"`
	} `json:"messages"`
	Sampling
	// Stop may be one string, where Sampling's is a list.
	Stop                json.RawMessage `json:"stop"`
	MaxCompletionTokens int             `json:"max_completion_tokens"`
	Tools               json.RawMessage `json:"tools"`
	ToolChoice          json.RawMessage `json:"tool_choice"`
	ParallelToolCalls   *bool           `json:"parallel_tool_calls"`
}

// Unpacked returns the work as a model that cannot relay a Body reads it:
// a chat Body's messages become Context and After around the input, and
// its sampling and tools become Sampling and Tools. Other fields, and the
// bodies of other APIs, which carry no conversation, are left as they are.
func (w Work) Unpacked() (Work, error) {
	if len(w.Body) == 0 || (w.API != "" && w.API != APIChat) {
		return w, nil
	}
	var b unpackedBody
	if err := json.Unmarshal(w.Body, &b); err != nil {
		return w, Errorf(CodeInvalidRequest, "reading the request body: %v", err)
	}
	r := Request{Messages: make([]Message, len(b.Messages))}
	for i, m := range b.Messages {
		r.Messages[i] = Message{Role: m.Role, ToolCalls: m.ToolCalls, ToolCallID: m.ToolCallID, Name: m.Name}
		if err := r.Messages[i].SetContent(m.Content); err != nil {
			return w, Errorf(CodeInvalidRequest, "reading the request body: messages[%d]: %v", i, err)
		}
	}
	_, w.Context = r.Text()
	w.After = r.After()
	s, err := b.sampling()
	if err != nil {
		return w, err
	}
	w.Sampling = s
	if present(b.Tools) {
		w.Tools = &Tools{Functions: b.Tools, Parallel: b.ParallelToolCalls}
		if present(b.ToolChoice) {
			w.Tools.Choice = b.ToolChoice
		}
	}
	return w, nil
}

// sampling returns the body's sampling, nil when it sets none.
func (b unpackedBody) sampling() (*Sampling, error) {
	s := b.Sampling
	if b.MaxCompletionTokens > 0 {
		s.MaxTokens = b.MaxCompletionTokens
	}
	if present(b.Stop) {
		var one string
		if json.Unmarshal(b.Stop, &one) == nil {
			s.Stop = []string{one}
		} else if err := json.Unmarshal(b.Stop, &s.Stop); err != nil {
			return nil, Errorf(CodeInvalidRequest, "reading the request body: stop must be a string or an array of strings")
		}
	}
	if !present(s.ResponseFormat) {
		s.ResponseFormat = nil
	}
	if s.Temperature == nil && s.TopP == nil && s.MaxTokens == 0 && s.Stop == nil && s.Seed == nil &&
		s.PresencePenalty == nil && s.FrequencyPenalty == nil && s.ResponseFormat == nil {
		return nil, nil
	}
	return &s, nil
}

// present reports whether a raw field was sent with a value other than null.
func present(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" }
