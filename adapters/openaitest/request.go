package openaitest

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/taskrouter/taskrouter/task"
)

// Record is what the server saw of one request. Header and Body belong to
// the record; treat them as read-only.
type Record struct {
	// Path is the endpoint: PathChat, PathCompletions or PathEmbeddings.
	Path  string
	Model string
	// Authorization is the Authorization header as sent, e.g. "Bearer sk-...".
	Authorization string
	Header        http.Header
	// Body is the request body exactly as it arrived.
	Body []byte
	// Messages are a chat request's messages; a completions request's
	// prompt is one user message.
	Messages     []task.Message
	Stream       bool
	IncludeUsage bool
	// MaxTokens is max_completion_tokens, else max_tokens; zero when unset.
	MaxTokens int
	// Tools and ToolChoice are tools and tool_choice as sent; nil when
	// absent. The messages keep their tool_calls, tool_call_id and name.
	Tools      json.RawMessage
	ToolChoice json.RawMessage
	// ParallelToolCalls is parallel_tool_calls; nil when absent.
	ParallelToolCalls *bool
	// Logprobs and TopLogprobs are what the request asked of log
	// probabilities: chat's logprobs and top_logprobs, or the legacy
	// completions' logprobs count.
	Logprobs    bool
	TopLogprobs int
	// Input is an embeddings request's input, one string per text (token
	// arrays as their JSON).
	Input []string
}

// chatRequest is the part of a chat completion request the server reads.
type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role       string          `json:"role"`
		Content    content         `json:"content"`
		ToolCalls  json.RawMessage `json:"tool_calls"`
		ToolCallID string          `json:"tool_call_id"`
		Name       string          `json:"name"`
	} `json:"messages"`
	Stream        bool `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens           int             `json:"max_tokens"`
	MaxCompletionTokens int             `json:"max_completion_tokens"`
	Logprobs            bool            `json:"logprobs"`
	TopLogprobs         int             `json:"top_logprobs"`
	Tools               json.RawMessage `json:"tools"`
	ToolChoice          json.RawMessage `json:"tool_choice"`
	ParallelToolCalls   *bool           `json:"parallel_tool_calls"`
}

// content is a message's content: a string, null, or an array of parts of
// which the text parts are joined.
type content string

// UnmarshalJSON implements json.Unmarshaler.
func (c *content) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		err := json.Unmarshal(b, &s)
		*c = content(s)
		return err
	}
	if string(b) == "null" {
		*c = ""
		return nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(b, &parts); err != nil {
		return err
	}
	var sb strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			sb.WriteString(p.Text)
		}
	}
	*c = content(sb.String())
	return nil
}

// record turns a decoded request into a Record.
func (cr *chatRequest) record(r *http.Request, body []byte) Record {
	rec := Record{
		Path:              PathChat,
		Model:             cr.Model,
		Authorization:     r.Header.Get("Authorization"),
		Header:            r.Header,
		Body:              body,
		Messages:          make([]task.Message, len(cr.Messages)),
		Stream:            cr.Stream,
		IncludeUsage:      cr.StreamOptions != nil && cr.StreamOptions.IncludeUsage,
		MaxTokens:         cr.MaxTokens,
		Tools:             cr.Tools,
		ToolChoice:        cr.ToolChoice,
		ParallelToolCalls: cr.ParallelToolCalls,
		Logprobs:          cr.Logprobs,
		TopLogprobs:       cr.TopLogprobs,
	}
	if cr.MaxCompletionTokens > 0 {
		rec.MaxTokens = cr.MaxCompletionTokens
	}
	for i, m := range cr.Messages {
		rec.Messages[i] = task.Message{Role: m.Role, Content: string(m.Content), ToolCalls: m.ToolCalls, ToolCallID: m.ToolCallID, Name: m.Name}
	}
	return rec
}

// promptTokens estimates the prompt size the way the server bills it.
func promptTokens(msgs []task.Message) int {
	n := 0
	for _, m := range msgs {
		n += task.EstimateTokens(m.Content)
	}
	return n
}
