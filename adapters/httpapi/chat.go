package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// chat answers POST /v1/chat/completions.
func (s *Server) chat(w http.ResponseWriter, r *http.Request, _ caller) {
	if !allow(w, r, http.MethodPost) {
		return
	}
	body, e := s.readBody(w, r)
	if e != nil {
		writeError(w, e)
		return
	}
	c, e := decodeChat(body)
	if e != nil {
		writeError(w, e)
		return
	}
	id := task.NewID("")
	req := task.Request{ID: "req_" + id, Messages: c.messages, Planner: c.planner, Hints: c.hints, Sampling: c.sampling.s}
	if req, e = s.route(r.Context(), c.model, req); e != nil {
		writeError(w, e)
		return
	}
	w.Header().Set("X-Request-Id", req.ID)
	out := completion{id: "chatcmpl-" + id, created: time.Now().Unix(), model: c.model}
	if c.stream {
		s.stream(w, r, c, req, out)
		return
	}
	resp := s.cfg.Runner.Handle(r.Context(), req, nil)
	if resp.Error != nil && resp.Answer == "" {
		writeError(w, fromTaskError(resp.Error))
		return
	}
	writeBody(w, http.StatusOK, out.appendCompletion(nil, resp.Answer, resp.Usage))
}

// completion is what every object of one answer shares.
type completion struct {
	id      string
	created int64
	model   string
}

// finishReason is "stop": taskrouter's answers are complete or an error.
const finishReason = "stop"

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

// appendCompletion appends a chat.completion object.
func (c completion) appendCompletion(b []byte, answer string, u task.Usage) []byte {
	b = c.appendHead(b, "chat.completion")
	b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	b = appendString(b, answer)
	b = append(b, `,"refusal":null},"logprobs":null,"finish_reason":"`+finishReason+`"}],"usage":`...)
	b = appendUsage(b, u)
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
