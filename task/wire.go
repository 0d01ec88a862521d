package task

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"strings"
	"time"
)

// Subjects and headers of the v1 wire contract.
const (
	SubjectRequest      = "tr.v1.req"
	SubjectModelPrefix  = "tr.v1.model."
	SubjectEventsPrefix = "tr.v1.events."
	SubjectCancelPrefix = "tr.v1.cancel."
	// SubjectCancelAll is what executors subscribe to for cancellations.
	SubjectCancelAll = "tr.v1.cancel.*"
	// SubjectJobs is where producers publish requests that must not be
	// lost (durable requests, on JetStream): a producer with a NATS user
	// publishes on JobsSubject(its name), which its permissions allow it
	// alone; on a server without users, on SubjectJobs itself.
	SubjectJobs = "tr.v1.jobs"
	// SubjectResultsPrefix starts the subjects of durable requests'
	// Responses (ResultSubject), kept in a JetStream stream for a while.
	SubjectResultsPrefix = "tr.v1.results."
	// SubjectJobEventsPrefix + a job id carries the job's updates between
	// routers (its state, its request's events); SubjectJobCancelPrefix +
	// a job id asks whichever router runs the job to cancel it. Both have
	// one token more than JobsSubject, so that the durable requests'
	// stream, on tr.v1.jobs.*, never captures them.
	SubjectJobEventsPrefix = "tr.v1.jobs.events."
	SubjectJobCancelPrefix = "tr.v1.jobs.cancel."

	// RouterInboxPrefix is the inbox prefix of routers' connections, where
	// executors' replies arrive; only routers may use it.
	RouterInboxPrefix = "_TR_ROUTER"

	// HeaderRequestID may name the request id of a message on tr.v1.req.
	// Dispatches carry no headers: the ids, attempt and deadline are in
	// the Work body, and headers cost a tenth of a dispatch's CPU.
	HeaderRequestID = "Tr-Request-Id"
)

// ModelSubject is the subject a model's executors serve; the model name is
// escaped into a single subject token.
func ModelSubject(model string) string { return SubjectModelPrefix + EscapeToken(model) }

// JobsSubject is where the producer named producer publishes durable
// requests; an empty name gives SubjectJobs.
func JobsSubject(producer string) string {
	if producer == "" {
		return SubjectJobs
	}
	return SubjectJobs + "." + producer
}

// ProducerOf returns the producer named by a durable request's subject
// ("" for SubjectJobs itself), and false for a subject that is not one.
func ProducerOf(subject string) (string, bool) {
	if subject == SubjectJobs {
		return "", true
	}
	rest, ok := strings.CutPrefix(subject, SubjectJobs+".")
	if !ok || rest == "" || strings.Contains(rest, ".") {
		return "", false
	}
	return rest, true
}

// ResultSubject is where the Response of the producer's durable request
// jobID goes: under the producer's name, so that its permissions can let
// it read its own results and no one else's.
func ResultSubject(producer, jobID string) string {
	if producer == "" {
		return SubjectResultsPrefix + jobID
	}
	return SubjectResultsPrefix + producer + "." + jobID
}

// EventsSubject is the subject that carries the progress events of one request.
func EventsSubject(requestID string) string { return SubjectEventsPrefix + EscapeToken(requestID) }

// CancelSubject is the subject on which the cancellation of one request is announced.
func CancelSubject(requestID string) string { return SubjectCancelPrefix + EscapeToken(requestID) }

// EscapeToken maps any string to one valid NATS subject token: letters,
// digits, '-' and '_' stay; every other byte becomes "~XX" in hex. Distinct
// names give distinct tokens.
func EscapeToken(name string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('~')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	if b.Len() == 0 {
		return "~"
	}
	return b.String()
}

// Work is what an executor's model is asked to do: one attempt of one subtask,
// with its references already substituted.
type Work struct {
	RequestID  string            `json:"request_id"`
	SubtaskID  string            `json:"subtask_id"`
	Attempt    int               `json:"attempt"`
	Model      string            `json:"model"`
	Capability string            `json:"capability"`
	Input      string            `json:"input"`
	Args       map[string]string `json:"args,omitempty"`
	// Context is earlier conversation, oldest first, for models that use it.
	Context []Message `json:"context,omitempty"`
	// Deadline is when the router stops waiting; executors stop working then.
	Deadline time.Time `json:"deadline,omitzero"`
	// Stream says someone follows this work's progress: executors forward
	// streamed text only then, and models may skip streaming otherwise.
	Stream bool `json:"stream,omitempty"`
	// Sampling, on the step that writes a request's answer, is the
	// caller's temperature, max_tokens and the rest.
	Sampling *Sampling `json:"sampling,omitempty"`
	// Tools, on the step that writes a request's answer, are the
	// functions the caller offers the model; After is the conversation
	// after Input (the assistant's tool calls and the tool results), which
	// a model sends after Input.
	Tools *Tools    `json:"tools,omitempty"`
	After []Message `json:"after,omitempty"`
	// Body, on the step that answers a request naming a model, is the
	// caller's OpenAI request body: the model sends it upstream as is,
	// with only its "model" replaced by the model's upstream id, and
	// streams when it says "stream": true. It carries the conversation,
	// sampling and tools, so Context, After, Sampling and Tools are then
	// empty; Input is still the text, for models that take text.
	Body json.RawMessage `json:"body,omitempty"`
	// API is the OpenAI endpoint Body is for: APIChat (the default),
	// APICompletions, APIEmbeddings, or a media API (APIImages,
	// APITranscriptions, APISpeech), whose binary input is in Artifacts
	// and whose binary answer is the Output's Artifacts.
	API string `json:"api,omitempty"`
	// Traceparent is the W3C trace context of the router's span for this
	// attempt, when tracing is on, so that the executor's spans join the
	// request's trace on any machine.
	Traceparent string `json:"traceparent,omitempty"`
	// Artifacts are the artifacts this step reads, in the order its input
	// refers to them: each {{ref}} to an attachment or to a step that
	// produced binary data stands in Input as the artifact's Placeholder
	// ("[image a1]"), and here with that Ref. Only models that take
	// artifacts get such work; they fetch the bytes from the store.
	Artifacts []ArtifactRef `json:"artifacts,omitempty"`
}

// The OpenAI endpoints a Work's Body may be for.
const (
	APIChat        = "chat"        // POST /chat/completions
	APICompletions = "completions" // POST /completions, the legacy text completions
	APIEmbeddings  = "embeddings"  // POST /embeddings
	// The media APIs: their bodies are JSON here, their files artifacts.
	APIImages         = "images"         // POST /images/generations (and /images/edits for a model's own steps)
	APITranscriptions = "transcriptions" // POST /audio/transcriptions, multipart upstream
	APISpeech         = "speech"         // POST /audio/speech, binary audio back
)

// IsMediaAPI reports whether api is one whose requests or answers carry
// binary data, which travels as artifacts.
func IsMediaAPI(api string) bool {
	return api == APIImages || api == APITranscriptions || api == APISpeech
}

// Output is a model's answer to one Work.
type Output struct {
	Text string `json:"text"`
	// Format is "text" (the default) or "json" when Text holds a JSON document.
	Format string `json:"format,omitempty"`
	Usage  Usage  `json:"usage,omitzero"`
	// ToolCalls are the model's calls of the caller's functions (Work.Tools),
	// as OpenAI's tool_calls array: [{"id", "type": "function", "function":
	// {"name", "arguments"}}].
	ToolCalls json.RawMessage `json:"tool_calls,omitempty"`
	// FinishReason is why the model stopped, in OpenAI's words: "stop",
	// "length", "tool_calls", "content_filter"; empty when unknown.
	FinishReason string `json:"finish_reason,omitempty"`
	// Body is the upstream's response body as received, for a Work with
	// a Body that did not stream; Text, ToolCalls, FinishReason and Usage
	// are read from it.
	Body json.RawMessage `json:"body,omitempty"`
	// Artifacts are the artifacts the model produced, already stored;
	// Text describes them for people.
	Artifacts []ArtifactRef `json:"artifacts,omitempty"`
}

// ReplyType is the kind of a message an executor sends to a dispatch's inbox.
type ReplyType string

// The reply types, in the order an executor sends them.
const (
	ReplyAccepted ReplyType = "accepted" // sent when the executor takes the work (see AcceptWithin)
	ReplyProgress ReplyType = "progress" // streamed tokens, or an empty keep-alive
	ReplyResult   ReplyType = "result"   // the one final answer
	ReplyError    ReplyType = "error"    // the one final failure
)

// Reply is one message from an executor to a dispatch's reply inbox.
type Reply struct {
	Type     ReplyType `json:"type"`
	Executor string    `json:"executor,omitempty"`
	// Delta is the new text of a progress message.
	Delta string `json:"delta,omitempty"`
	// Chunk is one chunk of a streamed Work.Body's answer as the upstream
	// sent it (the JSON of one server-sent event), with its Delta.
	Chunk json.RawMessage `json:"chunk,omitempty"`
	// Progress is how far a tool's call has come, from the tool's own
	// progress notifications; it is not text of the answer.
	Progress *Progress `json:"progress,omitempty"`
	Output   *Output   `json:"output,omitempty"`
	Error    *Error    `json:"error,omitempty"`
	// ElapsedUs, on "accepted", is how many microseconds the executor had
	// had the work when it sent it. On a result or an error it says that
	// the executor had accepted the work, ElapsedUs ago, and answered
	// before sending "accepted"; a reply without it is a refusal of work
	// never taken, or follows an "accepted".
	ElapsedUs int64 `json:"elapsed_us,omitempty"`
}

// AcceptWithin is how long an executor holds a built-in model's subtask
// before it sends "accepted": one that has its answer sooner sends only
// the answer, which spares the router and the NATS server a message on
// every quick dispatch. A remote model's or a tool's subtask is accepted
// at once. Routers give executors far longer to accept.
const AcceptWithin = time.Millisecond

// Progress is how far a long call has come, as an MCP tool reports it:
// Done of Total units (Total is zero when unknown), with an optional
// message.
type Progress struct {
	Done    float64 `json:"done"`
	Total   float64 `json:"total,omitempty"`
	Message string  `json:"message,omitempty"`
}

// CancelNotice is the optional body of a message on CancelSubject: the
// subtasks to stop. An empty body or list cancels the whole request, and
// executors then refuse its late-arriving subtasks too.
type CancelNotice struct {
	Subtasks []string `json:"subtasks,omitempty"`
	// Attempt, when set, limits the notice to that attempt, so stopping a
	// lost attempt never stops the retry that follows it.
	Attempt int `json:"attempt,omitempty"`
}

// Usage counts tokens and cost.
type Usage struct {
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	CostUSD          float64 `json:"cost_usd"`
	// MemoryTokens is how many of the prompt tokens a conversation's
	// memory added (turns, summary, recalled turns), by the models'
	// tokenizers or the calibrated estimate.
	MemoryTokens int `json:"memory_tokens,omitempty"`
}

// Add returns the sum of two usages.
func (u Usage) Add(o Usage) Usage {
	return Usage{u.PromptTokens + o.PromptTokens, u.CompletionTokens + o.CompletionTokens, u.CostUSD + o.CostUSD,
		u.MemoryTokens + o.MemoryTokens}
}

// NewID returns a random identifier with the given prefix, such as "req_".
func NewID(prefix string) string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	var out [64]byte // room for a prefix of 40 bytes, on the stack
	id := idEncoding.AppendEncode(append(out[:0], prefix...), b[:])
	return string(id)
}

// idEncoding is base32's standard alphabet in lower case, unpadded: ids
// read as they always did, encoded in one allocation.
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// EstimateTokens estimates how many tokens text takes, without a
// tokenizer: 1.1 tokens per CJK character (Han, kana, hangul), 0.2 per
// ASCII letter or space, 0.4 per digit, 0.6 per other ASCII character
// and 0.5 per other rune, rounded up. Calibrated against tiktoken's
// cl100k_base and o200k_base on English, Chinese and mixed prose
// (memory/tokens_test.go): English +7%, Chinese +3% (cl100k_base) and
// +52% (o200k_base, whose larger vocabulary holds more Chinese words),
// mixed -17% and -4%. Models whose tokenizer is known are counted
// exactly (memory.Tokens); this is for the others.
func EstimateTokens(text string) int {
	// In tenths of a token: BPE vocabularies hold common words whole
	// (about 5.5 bytes with their space), split numbers into groups of one
	// to three digits, and keep most punctuation apart.
	tenths := 0
	for _, r := range text {
		switch {
		case r >= 0x3040 && r <= 0x30FF, r >= 0x3400 && r <= 0x9FFF, r >= 0xAC00 && r <= 0xD7AF, r >= 0xF900 && r <= 0xFAFF:
			tenths += 11
		case r >= '0' && r <= '9':
			tenths += 4
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == ' ':
			tenths += 2
		case r < 0x80:
			tenths += 6
		default:
			tenths += 5
		}
	}
	return (tenths + 9) / 10
}

// UnescapeToken reverses EscapeToken.
func UnescapeToken(tok string) string {
	if tok == "~" {
		return ""
	}
	if !strings.Contains(tok, "~") {
		return tok
	}
	var b strings.Builder
	for i := 0; i < len(tok); i++ {
		if tok[i] == '~' && i+2 < len(tok) {
			h, ok1 := hexDigit(tok[i+1])
			l, ok2 := hexDigit(tok[i+2])
			if ok1 && ok2 {
				b.WriteByte(h<<4 | l)
				i += 2
				continue
			}
		}
		b.WriteByte(tok[i])
	}
	return b.String()
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// CheckReplySubject reports whether a subject a caller named for answers
// or events (a request's reply subject, its events_subject) may receive
// them: one valid subject with no wildcard, outside the contract's own
// subjects (tr.) and NATS's ($JS, $KV, $SYS, $SRV, ...) and the routers'
// inbox (_TR_ROUTER), which a router would otherwise write to on the
// caller's behalf: a Response sent to tr.v1.cancel.<id> cancels that
// request, one sent to $KV.taskrouter_jobs.<id> replaces that job.
func CheckReplySubject(subject string) error {
	if len(subject) > 1024 {
		return Errorf(CodeInvalidRequest, "the subject is %d bytes; keep it under 1024", len(subject))
	}
	for _, tok := range strings.Split(subject, ".") {
		if tok == "" || tok == "*" || tok == ">" || strings.ContainsAny(tok, " \t\r\n") {
			return Errorf(CodeInvalidRequest, "%q is not a subject to publish to: no empty tokens, wildcards or spaces", subject)
		}
	}
	for _, reserved := range []string{"tr.", "$", RouterInboxPrefix + "."} {
		if strings.HasPrefix(subject, reserved) {
			return Errorf(CodeInvalidRequest, "%q is in a namespace taskrouter and NATS keep for themselves (%s...); use a subject in your inbox, such as _INBOX.<user>.events", subject, reserved)
		}
	}
	return nil
}
