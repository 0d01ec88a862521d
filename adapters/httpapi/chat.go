package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/taskrouter/taskrouter/task"
)

// chat answers POST /v1/chat/completions. A streamed answer runs the
// whole router on this goroutine, below this frame, for as long as the
// stream lasts: the decoding and checks are in readChat, and the answer
// of an unstreamed request in answer, so that their locals are off the
// stack by then (a stream's goroutine then fits a smaller stack).
func (s *Server) chat(w http.ResponseWriter, r *http.Request, cl caller) {
	if !allow(w, r, http.MethodPost) {
		return
	}
	var call chatCall
	if !s.readChat(w, r, cl, &call) {
		return
	}
	w.Header().Set("X-Request-Id", call.req.ID)
	if call.stream {
		s.stream(w, r, &call.req, newChunkWriter(w, call.out, call.includeUsage))
		return
	}
	s.answer(w, r, &call)
}

// chatCall is a chat completion request read and routed: the request to
// run and how to answer it.
type chatCall struct {
	req          task.Request
	out          completion
	stream       bool
	includeUsage bool
}

// readChat reads, checks and routes a chat completion request into call;
// it reports false when it answered the request with an error.
func (s *Server) readChat(w http.ResponseWriter, r *http.Request, cl caller, call *chatCall) bool {
	body, e := s.readBody(w, r)
	if e != nil {
		writeError(w, e)
		return false
	}
	c, e := decodeChat(body)
	if e == nil {
		e = c.memory.fromHeaders(r.Header)
	}
	if e != nil {
		writeError(w, e)
		return false
	}
	id := task.NewID("")
	req := task.Request{ID: "req_" + id, Messages: c.messages, Planner: c.planner, Hints: c.hints, Sampling: c.sampling.s, Tools: c.tools,
		Ingress: task.IngressHTTP}
	c.memory.apply(&req, cl.owner)
	if req, e = s.route(r.Context(), c.model, req); e != nil {
		writeError(w, e)
		return false
	}
	if c.model == ModelTaskrouter && c.media != "" {
		if req, e = s.attachParts(r, req, c); e != nil {
			writeError(w, e)
			return false
		}
	}
	if c.model != ModelTaskrouter {
		// The model named gets the client's body as sent.
		if e := s.checkNamed(r.Context(), &c); e != nil {
			writeError(w, e)
			return false
		}
		req.Body, req.API = body, task.APIChat
	}
	call.req, call.stream, call.includeUsage = req, c.stream, c.includeUsage
	call.out = completion{id: "chatcmpl-" + id, created: time.Now().Unix(), model: c.model}
	return true
}

// answer runs an unstreamed chat completion and writes its answer.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, call *chatCall) {
	resp := s.cfg.Runner.Handle(r.Context(), call.req, nil)
	out := call.out
	switch {
	case failed(resp):
		writeError(w, fromTaskError(resp.Error))
	case resp.Body != nil:
		writeRelayed(w, resp, out.model)
	default:
		out.model = answeredBy(resp, out.model)
		w.Header().Set(HeaderModel, out.model)
		resp.Answer = withLinks(resp.Answer, resp.Artifacts, baseURL(r))
		writeBody(w, http.StatusOK, out.appendCompletion(nil, resp))
	}
}

// attachParts makes the media parts of a request to model "taskrouter"
// its attachments, stored in the artifact store, and leaves its messages
// their text.
func (s *Server) attachParts(r *http.Request, req task.Request, c chat) (task.Request, *apiError) {
	if s.cfg.Files == nil {
		return req, badRequest("unsupported_content", `Model "taskrouter" takes images, audio and files as attachments, but this router has no artifact store; `+
			c.mediaAt+" has a part of type '"+c.media+"'. Send text parts only, or name a remote model that takes it.").withParam(c.mediaAt)
	}
	parts, e := readMediaParts(req.Messages, r.Host)
	if e != nil {
		return req, e
	}
	if req.Attachments, e = s.attach(r.Context(), parts); e != nil {
		return req, e
	}
	req.Messages = textMessages(req.Messages)
	return req, nil
}

// textMessages returns the messages with their text only: the data of
// their content parts goes as the request's attachments.
func textMessages(msgs []task.Message) []task.Message {
	out := make([]task.Message, len(msgs))
	for i, m := range msgs {
		m.Parts = nil
		out[i] = m
	}
	return out
}

// completion is what every object of one answer shares.
type completion struct {
	id      string
	created int64
	model   string
}

// failed reports whether resp is an error rather than an answer: one with
// neither text nor tool calls.
func failed(resp task.Response) bool {
	return resp.Error != nil && resp.Answer == "" && len(toolCalls(resp)) == 0
}

// finishReason is the answering model's finish_reason, or "stop" when the
// answer is not one model's output: taskrouter's answers are then
// complete or an error.
func finishReason(resp task.Response) string {
	if resp.FinishReason != "" {
		return resp.FinishReason
	}
	return "stop"
}

// toolCalls returns the calls of resp's tool_calls array; none when it is
// not a valid array, so a bad one can never break the body it goes into.
func toolCalls(resp task.Response) []gjson.Result {
	if len(resp.ToolCalls) == 0 || !gjson.ValidBytes(resp.ToolCalls) {
		return nil
	}
	v := gjson.ParseBytes(resp.ToolCalls)
	if !v.IsArray() {
		return nil
	}
	return v.Array()
}

// appendHead appends the fields every completion object starts with.
func (c completion) appendHead(b []byte, object string) []byte {
	b = append(b, `{"id":"`...)
	b = append(b, c.id...)
	b = append(b, `","object":"`...)
	b = append(b, object...)
	b = append(b, `","created":`...)
	b = appendInt(b, c.created)
	b = append(b, `,"model":`...)
	b = appendString(b, c.model)
	return append(b, `,"system_fingerprint":null`...)
}

// appendCompletion appends a chat.completion object. A message with tool
// calls and no text has content null, as OpenAI's has.
func (c completion) appendCompletion(b []byte, resp task.Response) []byte {
	calls := toolCalls(resp)
	b = c.appendHead(b, "chat.completion")
	b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	if resp.Answer == "" && len(calls) > 0 {
		b = append(b, "null"...)
	} else {
		b = appendString(b, resp.Answer)
	}
	if len(calls) > 0 {
		b = append(b, `,"tool_calls":`...)
		b = append(b, resp.ToolCalls...)
	}
	b = append(b, `,"refusal":null},"logprobs":null,"finish_reason":`...)
	b = appendString(b, finishReason(resp))
	b = append(b, `}],"usage":`...)
	b = appendUsage(b, resp.Usage)
	return append(b, "}\n"...)
}

func appendUsage(b []byte, u task.Usage) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = appendInt(b, int64(u.PromptTokens))
	b = append(b, `,"completion_tokens":`...)
	b = appendInt(b, int64(u.CompletionTokens))
	b = append(b, `,"total_tokens":`...)
	b = appendInt(b, int64(u.PromptTokens+u.CompletionTokens))
	return append(b, '}')
}

// trimmedEqual reports whether a and b differ only in surrounding space,
// as a streamed text and the answer merged from it may.
func trimmedEqual(a, b string) bool { return strings.TrimSpace(a) == strings.TrimSpace(b) }
