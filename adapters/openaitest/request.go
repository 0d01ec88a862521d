package openaitest

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/tidwall/gjson"

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
	// arrays as their JSON), or a speech request's input.
	Input []string
	// Images are the images a chat request's image_url parts carried as
	// data: URIs, or the images of an edit.
	Images []Image
	// Prompt is an image request's prompt, or a transcription's.
	Prompt string
	// Audio is a transcription's file as it arrived.
	Audio []byte
	// Form holds a media request's other fields: a multipart form's text
	// fields (and "filename", the file part's name), or size,
	// response_format, n and voice of a JSON one.
	Form map[string]string
}

// chatImages returns the images of a chat body's image_url parts that are
// data: URIs; other URLs are not fetched.
func chatImages(body []byte) []Image {
	var out []Image
	gjson.GetBytes(body, "messages.#.content").ForEach(func(_, content gjson.Result) bool {
		content.ForEach(func(_, part gjson.Result) bool {
			if part.Get("type").Str == "image_url" {
				if img, ok := decodeDataURI(part.Get("image_url.url").Str); ok {
					out = append(out, img)
				}
			}
			return true
		})
		return true
	})
	return out
}

// decodeDataURI reads "data:<mime>;base64,<data>".
func decodeDataURI(uri string) (Image, bool) {
	rest, ok := strings.CutPrefix(uri, "data:")
	if !ok {
		return Image{}, false
	}
	meta, data, ok := strings.Cut(rest, ",")
	mime, isB64 := strings.CutSuffix(meta, ";base64")
	if !ok || !isB64 {
		return Image{}, false
	}
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return Image{}, false
	}
	return Image{MIME: mime, Data: raw}, true
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
		Images:            chatImages(body),
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
