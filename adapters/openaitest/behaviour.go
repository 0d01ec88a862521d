package openaitest

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/taskrouter/taskrouter/task"
)

// Failure is a failure the server injects instead of a normal answer.
type Failure int

// The failures the server can inject.
const (
	FailNone Failure = iota
	// FailRateLimit answers 429 rate_limit_exceeded, with Retry-After when
	// Behaviour.RetryAfter is set.
	FailRateLimit
	// FailServerError answers 500 server_error.
	FailServerError
	// FailReset resets the TCP connection (hijack, linger 0, close), after
	// Behaviour.ChunksBeforeFailure content chunks when streaming.
	FailReset
	// FailMalformed sends JSON that does not parse with status 200, after
	// Behaviour.ChunksBeforeFailure content chunks when streaming.
	FailMalformed
	// FailStall sends Behaviour.ChunksBeforeFailure content chunks and then
	// nothing more until the client goes away or the server closes.
	FailStall
	// FailContextLength answers 400 with code context_length_exceeded.
	FailContextLength
	// FailBadRequest answers 400 invalid_request_error.
	FailBadRequest
	// FailUnauthorized answers 401 invalid_api_key, echoing the presented key
	// in the message so tests can check that clients redact it.
	FailUnauthorized
	// FailForbidden answers 403.
	FailForbidden
	// FailDeepJSON answers 200 with an answer whose JSON nests DeepJSONLevels
	// arrays deep, after Behaviour.ChunksBeforeFailure content chunks when
	// streaming (as one chunk).
	FailDeepJSON
)

// DeepJSONLevels is how deep FailDeepJSON nests: 8 MB of '[', which kills
// a process whose parser recurses once per level.
const DeepJSONLevels = 8_000_000

// Behaviour scripts how the server answers requests for one model.
type Behaviour struct {
	// Reply is the answer text. It is streamed in pieces that each start at
	// a word boundary, one piece per chunk; each piece counts as one token.
	// A chat request with images (image_url parts with data: URIs) to a
	// model with no Reply or ReplyFunc is answered with what Describe sees
	// in them; a transcription with what the Speech file says.
	Reply string
	// ReplyFunc, when set, computes the answer from the request's messages
	// instead of Reply. It must be safe for concurrent use.
	ReplyFunc func(messages []task.Message) string
	// Embed, when set, computes an embedding's vector from its input text
	// instead of the default hash of the text (see POST /v1/embeddings),
	// so that a test can give texts of one meaning near vectors. It must
	// be safe for concurrent use.
	Embed func(text string) []float32
	// Latency is the wait before the response starts (the first token, or
	// the injected failure).
	Latency time.Duration
	// TokenDelay is the wait between streamed chunks.
	TokenDelay time.Duration
	// Fail injects a failure instead of the answer.
	Fail Failure
	// FailFirst limits Fail to the first N calls since the model was
	// scripted; later calls succeed. Zero means every call fails.
	FailFirst int
	// RetryAfter is sent as the Retry-After header (whole seconds, rounded
	// up) with FailRateLimit and FailServerError; zero sends none.
	RetryAfter time.Duration
	// ChunksBeforeFailure is how many content chunks a stream sends before
	// FailReset, FailMalformed, FailStall or FailDeepJSON strikes.
	ChunksBeforeFailure int
	// Usage, when set, replaces the counted usage in the answer.
	Usage *Usage
	// NoUsage leaves usage out of the answer, as servers that ignore
	// stream_options do.
	NoUsage bool
	// FinishReason is the finish_reason of a complete answer; default
	// "tool_calls" for an answer with tool calls, else "stop".
	FinishReason string
	// ToolCalls, when set, are the model's calls of the request's
	// functions, answered in OpenAI's wire format after Reply's text, if
	// any: content null without text, and in a stream one chunk with
	// each call's index, id and name, then its arguments in fragments.
	// The token limit cuts the text only.
	ToolCalls []ToolCall
	// ToolCallsFunc, when set, computes the tool calls from the request's
	// messages instead of ToolCalls; returning none answers with the text
	// alone, as a model does once it has the tool results. It must be safe
	// for concurrent use.
	ToolCallsFunc func(messages []task.Message) []ToolCall
}

// ToolCall is one scripted call of a function.
type ToolCall struct {
	// ID is the call's id; empty gets a fresh "call_..." id on every answer.
	ID        string
	Name      string
	Arguments string
}

// Usage is the usage object of an answer.
type Usage struct {
	PromptTokens     int
	CompletionTokens int
}

// script is a Behaviour prepared for the hot path.
type script struct {
	b      Behaviour
	pieces []string // the split Reply, when ReplyFunc is nil
}

func newScript(b Behaviour) *script {
	s := &script{b: b}
	if b.ReplyFunc == nil {
		s.pieces = SplitTokens(b.Reply)
	}
	return s
}

// failsOn reports whether the n-th call (1-based) gets the injected failure.
func (s *script) failsOn(n int64) bool {
	return s.b.Fail != FailNone && (s.b.FailFirst <= 0 || n <= int64(s.b.FailFirst))
}

// reply returns the pieces of the answer to a request.
func (s *script) reply(msgs []task.Message) []string {
	if s.b.ReplyFunc == nil {
		return s.pieces
	}
	return SplitTokens(s.b.ReplyFunc(msgs))
}

// seeing returns the answer to a chat request with images when the
// model has no scripted answer: what Describe sees in each image, as a
// vision model would say it.
func (s *script) seeing(rec Record) ([]string, bool) {
	if s.b.Reply != "" || s.b.ReplyFunc != nil || len(rec.Images) == 0 {
		return nil, false
	}
	var said []string
	for _, img := range rec.Images {
		d, err := Describe(img.Data)
		if err != nil {
			d = "I cannot see this image: " + err.Error() + "."
		}
		said = append(said, d)
	}
	return SplitTokens(strings.Join(said, " ")), true
}

// toolCalls returns the tool calls of the answer to a request, each with
// an id.
func (s *script) toolCalls(msgs []task.Message) []ToolCall {
	calls := s.b.ToolCalls
	if s.b.ToolCallsFunc != nil {
		calls = s.b.ToolCallsFunc(msgs)
	}
	if len(calls) == 0 {
		return nil
	}
	out := make([]ToolCall, len(calls))
	for i, c := range calls {
		if c.ID == "" {
			c.ID = task.NewID("call_")
		}
		out[i] = c
	}
	return out
}

// finish returns the finish_reason of a complete answer.
func (s *script) finish(calls []ToolCall) string {
	switch {
	case s.b.FinishReason != "":
		return s.b.FinishReason
	case len(calls) > 0:
		return "tool_calls"
	}
	return "stop"
}

// argPieces splits a call's arguments into the fragments a stream sends,
// a few bytes each as model tokens are, never inside a UTF-8 character.
func argPieces(args string) []string {
	const size = 4
	var out []string
	for len(args) > 0 {
		n := min(size, len(args))
		for n < len(args) && !utf8.RuneStart(args[n]) {
			n++
		}
		out = append(out, args[:n])
		args = args[n:]
	}
	return out
}

// SplitTokens splits text into the pieces the server streams: each piece
// starts where a word starts, so "Hello big world" gives "Hello", " big",
// " world". The pieces concatenate to text.
func SplitTokens(text string) []string {
	var out []string
	start := 0
	for i := 1; i < len(text); i++ {
		if isSpace(text[i]) && !isSpace(text[i-1]) {
			out = append(out, text[start:i])
			start = i
		}
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }
