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
				"name a model that takes it in \"model\", or send text parts only", i, t)
		}
	}
	return nil
}
