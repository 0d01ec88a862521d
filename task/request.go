package task

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Request is what a caller asks of taskrouter, from any ingress.
type Request struct {
	ID string `json:"id,omitempty"`
	// Input is the text of the request. When empty, the last user message of
	// Messages is the input and the messages before it are context.
	Input    string    `json:"input,omitempty"`
	Messages []Message `json:"messages,omitempty"`
	// Planner overrides the configured planner mode: auto, rules, llm or single.
	Planner string `json:"planner,omitempty"`
	// Plan, when set, is run as given instead of planning the request.
	Plan *Plan `json:"plan,omitempty"`
	Hints
	// Events asks the router to publish this request's progress events on
	// tr.v1.events.<id> (routers may also be configured to publish all).
	Events bool `json:"events,omitempty"`
	// EventsSubject, when set, is where the router publishes this
	// request's progress events instead: a subject in the producer's own
	// inbox (_INBOX.<user>.<anything>), which only it may read.
	EventsSubject string `json:"events_subject,omitempty"`
	// TimeoutMs bounds the whole request; zero means the configured default.
	TimeoutMs int64 `json:"timeout_ms,omitempty"`
	// Sampling is for the model that writes the answer (temperature,
	// max_tokens, ...); see Sampling.
	Sampling *Sampling `json:"sampling,omitempty"`
	// Tools are functions the model may call instead of answering; they
	// need Model set. See Tools.
	Tools *Tools `json:"tools,omitempty"`
	// Conversation names a conversation that outlives the request (see
	// CheckConversationID): its turns, rolling summary and recalled
	// memory are the request's context, and its input and answer are
	// kept as new turns.
	Conversation string `json:"conversation,omitempty"`
	// MemoryScope, with Conversation, shares long-term memory across the
	// conversations of one scope, such as a user id: earlier turns of any
	// of them may be recalled. A conversation keeps the scope it was
	// created with.
	MemoryScope string `json:"memory_scope,omitempty"`
	// Cache, when false, bypasses the cache of deterministic answers: no
	// step reads or writes it. Nil means true.
	Cache *bool `json:"cache,omitempty"`
	// Owner is who the request is on behalf of, for conversations: the
	// hash of the API key, "webhook:<name>", or empty for open access and
	// NATS producers. Conversations, memory scopes and cached answers are
	// kept apart by it. The ingress sets it; it is not on the wire.
	Owner string `json:"-"`
	// Body is the caller's own OpenAI request body, when an ingress
	// received one for the model named in Model (HTTP): the model gets it
	// as sent, with only "model" replaced. It stays in the process.
	Body json.RawMessage `json:"-"`
	// API is the OpenAI endpoint Body is for (see Work.API).
	API string `json:"-"`
	// Ingress names the way the request came in (one of the Ingress
	// constants), for metrics and logs. The ingress sets it; it is not on
	// the wire, so a producer cannot claim another one.
	Ingress string `json:"-"`
	// Attachments are the binary data the request brings (images, audio,
	// files): plans refer to the i-th as {{a<i>}}, from 1.
	Attachments []Attachment `json:"attachments,omitempty"`
}

// Hints steer model selection for one request.
type Hints struct {
	// Model pins every subtask to this model when it has the capability.
	Model string `json:"model,omitempty"`
	// Policy overrides the selection policy: quality, cost, latency or balanced.
	Policy string `json:"policy,omitempty"`
	// MaxCostUSD skips models whose estimated cost for a subtask is higher.
	MaxCostUSD float64 `json:"max_cost,omitempty"`
	// PreferLocal ranks models that run without network first.
	PreferLocal bool `json:"prefer_local,omitempty"`
}

// Text returns the request's input and its conversation context: Input when
// set, otherwise the last user message, with earlier messages as context.
// The messages after the last user message, if any, are After's.
func (r Request) Text() (input string, context []Message) {
	if strings.TrimSpace(r.Input) != "" {
		return r.Input, r.Messages
	}
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			return r.Messages[i].Content, r.Messages[:i]
		}
	}
	return "", r.Messages
}

// After returns the messages after the request's input: when the input is
// the last user message, the assistant's tool calls and the tool results
// that followed it, for the model that writes the answer.
func (r Request) After() []Message {
	if strings.TrimSpace(r.Input) != "" {
		return nil
	}
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			return r.Messages[i+1:]
		}
	}
	return nil
}

// DecodeRequest parses a Request strictly and checks it has something to
// do. A request nested more than MaxJSONDepth levels deep is refused
// before it is decoded.
func DecodeRequest(data []byte, lim Limits) (Request, error) {
	lim = lim.withDefaults()
	if max := lim.maxRequestBytes(); len(data) > max {
		return Request{}, Errorf(CodeInvalidRequest, "the request is %d bytes, more than the limit of %d", len(data), max)
	}
	if err := CheckJSONDepth(data, MaxJSONDepth); err != nil {
		return Request{}, err
	}
	var r Request
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		var corrupt base64.CorruptInputError
		if errors.As(err, &corrupt) {
			return Request{}, badAttachmentData(data, err)
		}
		return Request{}, Errorf(CodeInvalidRequest, "decoding request: %v; send a JSON object such as {\"input\": \"...\"}", err)
	}
	if dec.More() {
		return Request{}, Errorf(CodeInvalidRequest, "decoding request: trailing data after the JSON object")
	}
	return r, r.Check(lim)
}

// Check reports what is wrong with a request before any work starts.
// lim.MaxInputBytes bounds the input and, separately, the whole
// conversation (input, messages and tool calls).
func (r Request) Check(lim Limits) error {
	lim = lim.withDefaults()
	input, _ := r.Text()
	if strings.TrimSpace(input) == "" && r.Plan == nil {
		return Errorf(CodeInvalidRequest, "the request has no input: set \"input\", or \"messages\" ending with a user message")
	}
	if len(input) > lim.MaxInputBytes {
		return Errorf(CodeInvalidRequest, "the input is %d bytes, more than the limit of %d", len(input), lim.MaxInputBytes)
	}
	if n := r.conversationBytes(); n > lim.MaxInputBytes {
		return Errorf(CodeInvalidRequest, "the conversation is %d bytes (the input and %d messages' content and tool calls), more than the limit of %d; send fewer or shorter messages",
			n, len(r.Messages), lim.MaxInputBytes)
	}
	switch r.Planner {
	case "", "auto", "rules", "llm", "single":
	default:
		return Errorf(CodeInvalidRequest, "unknown planner %q: use auto, rules, llm or single", r.Planner)
	}
	switch r.Policy {
	case "", "quality", "cost", "latency", "balanced":
	default:
		return Errorf(CodeInvalidRequest, "unknown policy %q: use quality, cost, latency or balanced", r.Policy)
	}
	if r.EventsSubject != "" {
		if err := CheckReplySubject(r.EventsSubject); err != nil {
			return Errorf(CodeInvalidRequest, "events_subject: %s", AsError(err).Message)
		}
	}
	if r.TimeoutMs < 0 || r.MaxCostUSD < 0 {
		return Errorf(CodeInvalidRequest, "timeout_ms and max_cost must not be negative")
	}
	for i, m := range r.Messages {
		if err := checkMessage(i, m); err != nil {
			return err
		}
	}
	if err := r.checkMedia(); err != nil {
		return err
	}
	if err := r.checkMemory(); err != nil {
		return err
	}
	if err := r.checkAttachments(); err != nil {
		return err
	}
	if r.Tools != nil && r.Model == "" {
		return Errorf(CodeInvalidRequest, "tools need a model: name the model that may call them (a planned request is answered by taskrouter, which returns no tool calls)")
	}
	if err := r.Tools.Check(); err != nil {
		return err
	}
	return r.Sampling.Check()
}

// conversationBytes is what a request asks a model to read: the input and
// every message's content and tool calls. The limit on the input alone
// let a long history through, each message under the limit.
func (r Request) conversationBytes() int {
	n := len(r.Input)
	for _, m := range r.Messages {
		n += len(m.Content) + len(m.ToolCalls)
	}
	return n
}

// Status is the state of a subtask or a job.
type Status string

// Subtask states.
const (
	StatusPending   Status = "pending"
	StatusRunning   Status = "running"
	StatusDone      Status = "done"
	StatusFailed    Status = "failed"
	StatusCancelled Status = "cancelled"
)

// Response is the outcome of a request: the answer, the plan, and what
// happened to every subtask.
type Response struct {
	ID       string         `json:"id"`
	Answer   string         `json:"answer"`
	Plan     *Plan          `json:"plan,omitempty"`
	Subtasks []SubtaskState `json:"subtasks"`
	// Merge says how the answer was composed: "single", "template" or "model".
	Merge string `json:"merge,omitempty"`
	// MergeModel is the model that wrote the answer when Merge is "model".
	MergeModel string `json:"merge_model,omitempty"`
	// Model is the model whose output is the answer: the one step's model
	// of a one-step plan, or the merge model; empty when the answer was
	// composed by the template from several models' outputs.
	Model string `json:"model,omitempty"`
	// ToolCalls are the calls of the caller's functions (Request.Tools)
	// that the model made instead of, or besides, answering, as OpenAI's
	// tool_calls array; FinishReason is the model's, such as "tool_calls"
	// or "length", when the answer is one model's output.
	ToolCalls    json.RawMessage `json:"tool_calls,omitempty"`
	FinishReason string          `json:"finish_reason,omitempty"`
	// Body is the upstream's response body as received, when the answer
	// is one remote model's unstreamed answer to the caller's own
	// conversation (a request naming the model); Answer is its text.
	Body json.RawMessage `json:"body,omitempty"`
	// Artifacts are the artifacts the request's subtasks produced, in
	// plan order, each with Ref naming its subtask; fetch one's bytes at
	// GET /v1/files/{id}/content.
	Artifacts []ArtifactRef `json:"artifacts,omitempty"`
	Usage     Usage         `json:"usage"`
	Error     *Error        `json:"error,omitempty"`
}

// SubtaskState is what happened to one subtask.
type SubtaskState struct {
	ID         string    `json:"id"`
	Capability string    `json:"capability"`
	Deps       []string  `json:"deps"`
	Model      string    `json:"model,omitempty"`
	Executor   string    `json:"executor,omitempty"`
	Status     Status    `json:"status"`
	Attempts   int       `json:"attempts"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	EndedAt    time.Time `json:"ended_at,omitzero"`
	Output     string    `json:"output,omitempty"`
	Format     string    `json:"format,omitempty"`
	// ToolCalls and FinishReason are the model's, as in Output.
	ToolCalls    json.RawMessage `json:"tool_calls,omitempty"`
	FinishReason string          `json:"finish_reason,omitempty"`
	// Body is the Output's, kept in the process: a Response carries it once.
	Body  json.RawMessage `json:"-"`
	Usage Usage           `json:"usage,omitzero"`
	Error *Error          `json:"error,omitempty"`
	// Artifacts are the artifacts the subtask produced (Output.Artifacts).
	Artifacts []ArtifactRef `json:"artifacts,omitempty"`
	// Cached says the output came from the cache of deterministic
	// answers: no model was asked, and Timeline is empty.
	Cached bool `json:"cached,omitempty"`
	// Timeline is every attempt the subtask was dispatched in, oldest
	// first: where it went and when it was published, accepted and ended.
	Timeline []Attempt `json:"timeline,omitempty"`
}

// Attempt is one dispatch of a subtask to a model.
type Attempt struct {
	Attempt  int    `json:"attempt"`
	Model    string `json:"model"`
	Executor string `json:"executor,omitempty"`
	// DispatchedAt is when the router published the work; AcceptedAt when
	// an executor took it (zero when none did); EndedAt when the router
	// had its result, its error, or gave up on it.
	DispatchedAt time.Time `json:"dispatched_at"`
	AcceptedAt   time.Time `json:"accepted_at,omitzero"`
	EndedAt      time.Time `json:"ended_at"`
	// Error is why the attempt failed; nil when it succeeded.
	Error *Error `json:"error,omitempty"`
}

// EventType is the kind of a progress event.
type EventType string

// The progress events of a request.
const (
	EventPlanned    EventType = "planned"    // the plan is ready
	EventDispatched EventType = "dispatched" // a subtask attempt was published
	EventAccepted   EventType = "accepted"   // an executor took it
	EventProgress   EventType = "progress"   // streamed text
	EventRetry      EventType = "retry"      // an attempt failed and another follows
	EventDone       EventType = "done"       // a subtask finished
	EventFailed     EventType = "failed"     // a subtask failed for good
	EventCancelled  EventType = "cancelled"  // a subtask was cancelled
	EventMerged     EventType = "merged"     // the answer is composed
	EventFinished   EventType = "finished"   // the request is over, answered or failed
	// EventContext says what a conversation's memory added to a step, and
	// what was summarized or left out to fit the model's window.
	EventContext EventType = "context"
)

// Event is one progress event of a request, published on EventsSubject.
type Event struct {
	Type      EventType `json:"type"`
	RequestID string    `json:"request_id"`
	SubtaskID string    `json:"subtask_id,omitempty"`
	// Capability is the subtask's capability, for live views.
	Capability string    `json:"capability,omitempty"`
	Model      string    `json:"model,omitempty"`
	Executor   string    `json:"executor,omitempty"`
	Attempt    int       `json:"attempt,omitempty"`
	Time       time.Time `json:"time"`
	// Elapsed is milliseconds since the request started.
	ElapsedMs int64 `json:"elapsed_ms"`
	// Cached says that a done event's output came from the cache of
	// deterministic answers, with no dispatch.
	Cached bool `json:"cached,omitempty"`
	// Subtasks is the plan's size, on the planned event.
	Subtasks int    `json:"subtasks,omitempty"`
	Text     string `json:"text,omitempty"`
	// Chunk is a progress event's upstream stream chunk (Reply.Chunk),
	// for the ingress relaying the stream; it is not published.
	Chunk json.RawMessage `json:"-"`
	// Progress is a progress event's report from a tool (Reply.Progress).
	Progress *Progress `json:"progress,omitempty"`
	Error    *Error    `json:"error,omitempty"`
	// Ingress is where the request came in, on the planned and finished
	// events.
	Ingress string `json:"ingress,omitempty"`
	// Plan is the plan, on the planned event.
	Plan *Plan `json:"plan,omitempty"`
	// Input is the request's text on the planned event, and the input a
	// subtask's attempt was given (its references substituted) on the
	// dispatched event.
	Input string `json:"input,omitempty"`
	// Output is the subtask's output on the done event, and on the
	// finished event the answer, with the usage of the whole request.
	Output *Output `json:"output,omitempty"`
	// Clipped says that texts of the event (Input, Output's text, the
	// plan's inputs) were cut to MaxEventText bytes.
	Clipped bool `json:"clipped,omitempty"`
}
