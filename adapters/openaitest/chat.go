package openaitest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"
)

// maxBody bounds a request body, as real servers do.
const maxBody = 16 << 20

// answer is one complete answer, ready to be written as JSON or as chunks.
type answer struct {
	id           string
	created      int64
	model        string
	pieces       []string
	calls        []ToolCall
	finish       string
	usage        Usage
	withUsage    bool // the answer carries usage at all
	includeUsage bool // the client asked for a usage chunk
	// logprobs asks for each token's log probability, with topLogprobs
	// alternatives.
	logprobs    bool
	topLogprobs int
}

// chat answers POST /v1/chat/completions.
func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	s.total.Add(1)
	var cr chatRequest
	body, m, ok := s.admit(w, r, &cr, func() string { return cr.Model })
	if !ok {
		return
	}
	n := m.calls.Add(1)
	rec := cr.record(r, body)
	m.remember(rec)
	s.respond(w, r, m.script, n, rec)
}

// admit checks the key, reads and decodes the body into v and finds the
// model it names; it answers the request itself when it cannot go on.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, v any, name func() string) ([]byte, *model, bool) {
	if s.apiKey != "" && r.Header.Get("Authorization") != "Bearer "+s.apiKey {
		writeAPIError(w, unauthorized(r))
		return nil, nil, false
	}
	body, err := readBody(r)
	if err != nil {
		writeAPIError(w, apiError{status: http.StatusBadRequest, message: "Could not read the request body.", typ: "invalid_request_error"})
		return nil, nil, false
	}
	if err := json.Unmarshal(body, v); err != nil {
		writeAPIError(w, apiError{status: http.StatusBadRequest, message: "We could not parse the JSON body of your request: " + err.Error(), typ: "invalid_request_error"})
		return nil, nil, false
	}
	m := s.lookup(name())
	if m == nil {
		m = s.fallback
	}
	if m == nil {
		writeAPIError(w, apiError{status: http.StatusNotFound, message: "The model `" + name() + "` does not exist or you do not have access to it.", typ: "invalid_request_error", param: "model", code: "model_not_found"})
		return nil, nil, false
	}
	return body, m, true
}

// remember keeps rec as the model's last request.
func (m *model) remember(rec Record) {
	m.mu.Lock()
	m.last = rec
	m.mu.Unlock()
}

// admitScripted waits the scripted latency and injects a failure that is
// an HTTP status; it reports whether the answer should follow.
func (s *Server) admitScripted(w http.ResponseWriter, r *http.Request, sc *script, n int64) bool {
	if !s.wait(r.Context(), sc.b.Latency) {
		return false
	}
	if sc.failsOn(n) {
		if e, ok := statusFailure(sc.b.Fail, sc.b, r); ok {
			writeAPIError(w, e)
			return false
		}
	}
	return true
}

// respond waits the scripted latency and writes the answer or the failure.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, sc *script, n int64, rec Record) {
	if !s.wait(r.Context(), sc.b.Latency) {
		return
	}
	fail := FailNone
	if sc.failsOn(n) {
		fail = sc.b.Fail
		if e, ok := statusFailure(fail, sc.b, r); ok {
			writeAPIError(w, e)
			return
		}
	}
	a := s.newAnswer(sc, rec)
	if rec.Stream {
		s.stream(w, r, &a, fail, sc.b)
		return
	}
	switch fail {
	case FailReset:
		reset(w)
	case FailMalformed:
		writeMalformed(w, a.id)
	case FailDeepJSON:
		writeJSON(w, http.StatusOK, deepJSON(`{"id":"`+a.id+`","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"x"}}],"deep":`, "}"))
	case FailStall:
		s.hang(r.Context())
	default:
		writeCompletion(w, &a)
	}
}

// newAnswer builds the answer to a request, honouring its token limit.
func (s *Server) newAnswer(sc *script, rec Record) answer {
	a := answer{
		id:           "chatcmpl-" + strconv.FormatInt(s.seq.Add(1), 10),
		created:      time.Now().Unix(),
		model:        rec.Model,
		pieces:       sc.reply(rec.Messages),
		calls:        sc.toolCalls(rec.Messages),
		withUsage:    !sc.b.NoUsage,
		includeUsage: rec.IncludeUsage && !sc.b.NoUsage,
		logprobs:     rec.Logprobs,
		topLogprobs:  rec.TopLogprobs,
	}
	if seen, ok := sc.seeing(rec); ok {
		a.pieces = seen
	}
	a.finish = sc.finish(a.calls)
	if rec.MaxTokens > 0 && len(a.pieces) > rec.MaxTokens {
		a.pieces = a.pieces[:rec.MaxTokens]
		a.finish = "length"
	}
	if sc.b.Usage != nil {
		a.usage = *sc.b.Usage
	} else if a.withUsage {
		a.usage = Usage{PromptTokens: promptTokens(rec.Messages), CompletionTokens: len(a.pieces)}
		for _, c := range a.calls {
			a.usage.CompletionTokens += 1 + len(argPieces(c.Arguments)) // the name and each fragment
		}
	}
	return a
}

// wait sleeps for d; it returns false when the client went away or the
// server is closing first.
func (s *Server) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}

// readBody reads a request body in one allocation when its length is known.
func readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength >= 0 && r.ContentLength <= maxBody {
		body := make([]byte, r.ContentLength)
		_, err := io.ReadFull(r.Body, body)
		return body, err
	}
	return io.ReadAll(io.LimitReader(r.Body, maxBody))
}
