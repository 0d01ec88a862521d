package openaitest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// completionsRequest is the part of a legacy completions request the
// server reads.
type completionsRequest struct {
	Model         string          `json:"model"`
	Prompt        json.RawMessage `json:"prompt"`
	Stream        bool            `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens int  `json:"max_tokens"`
	Logprobs  *int `json:"logprobs"`
}

// completions answers POST /v1/completions, the legacy text completions,
// as JSON or as server-sent events: the scripted reply to the prompt,
// read as one user message. Injected failures that are an HTTP status
// apply; the others (reset, malformed, stall) are chat's only.
func (s *Server) completions(w http.ResponseWriter, r *http.Request) {
	var cr completionsRequest
	body, m, ok := s.admit(w, r, &cr, func() string { return cr.Model })
	if !ok {
		return
	}
	n := m.calls.Add(1)
	prompt, ok := promptText(cr.Prompt)
	if !ok {
		writeAPIError(w, apiError{status: http.StatusBadRequest, message: "'prompt' must be a string or an array of strings.", typ: "invalid_request_error", param: "prompt"})
		return
	}
	rec := Record{Path: PathCompletions, Model: cr.Model, Authorization: r.Header.Get("Authorization"), Header: r.Header, Body: body,
		Messages: []task.Message{{Role: "user", Content: prompt}}, Stream: cr.Stream, MaxTokens: cr.MaxTokens,
		IncludeUsage: cr.StreamOptions != nil && cr.StreamOptions.IncludeUsage, Logprobs: cr.Logprobs != nil}
	if cr.Logprobs != nil {
		rec.TopLogprobs = *cr.Logprobs
	}
	m.remember(rec)
	if !s.admitScripted(w, r, m.script, n) {
		return
	}
	a := s.newAnswer(m.script, rec)
	a.id = "cmpl-" + strings.TrimPrefix(a.id, "chatcmpl-")
	if cr.Stream {
		s.streamText(w, r, &a, m.script.b.TokenDelay)
		return
	}
	b := appendTextHead(nil, &a, "text_completion")
	b = append(b, `,"choices":[{"text":`...)
	b = appendString(b, strings.Join(a.pieces, ""))
	b = append(b, `,"index":0,"logprobs":`...)
	b = appendTextLogprobs(b, &a, a.pieces, 0)
	b = append(b, `,"finish_reason":`...)
	b = appendString(b, a.finish)
	b = append(b, "}]"...)
	if a.withUsage {
		b = append(b, `,"usage":`...)
		b = appendUsage(b, a.usage)
	}
	writeJSON(w, http.StatusOK, append(b, "}\n"...))
}

// promptText reads a prompt: a string, or strings one per line.
func promptText(raw json.RawMessage) (string, bool) {
	var prompt string
	if len(raw) == 0 || json.Unmarshal(raw, &prompt) == nil {
		return prompt, true
	}
	var many []string
	if json.Unmarshal(raw, &many) != nil {
		return "", false
	}
	return strings.Join(many, "\n"), true
}

// appendTextHead appends the fields a text completion object starts with.
func appendTextHead(b []byte, a *answer, object string) []byte {
	b = append(b, `{"id":"`...)
	b = append(b, a.id...)
	b = append(b, `","object":"`...)
	b = append(b, object...)
	b = append(b, `","created":`...)
	b = strconv.AppendInt(b, a.created, 10)
	b = append(b, `,"model":`...)
	b = appendString(b, a.model)
	return append(b, `,"system_fingerprint":"fp_openaitest"`...)
}

// streamText writes a text completion as server-sent events: a chunk per
// token, a last chunk with the finish reason, the usage chunk when asked
// for, and [DONE].
func (s *Server) streamText(w http.ResponseWriter, r *http.Request, a *answer, delay time.Duration) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	offset := 0
	chunk := func(text, finish string, logprobs bool) {
		b := append([]byte("data: "), appendTextHead(nil, a, "text_completion")...)
		b = append(b, `,"choices":[{"text":`...)
		b = appendString(b, text)
		b = append(b, `,"index":0,"logprobs":`...)
		if logprobs {
			b = appendTextLogprobs(b, a, []string{text}, offset)
		} else {
			b = append(b, "null"...)
		}
		b = append(b, `,"finish_reason":`...)
		b = appendStringOrNull(b, finish)
		_, _ = w.Write(append(b, "}]}\n\n"...))
		_ = rc.Flush()
	}
	for i, p := range a.pieces {
		if i > 0 && !s.wait(r.Context(), delay) {
			return
		}
		chunk(p, "", true)
		offset += len(p)
	}
	chunk("", a.finish, false)
	if a.includeUsage {
		b := append([]byte("data: "), appendTextHead(nil, a, "text_completion")...)
		b = append(b, `,"choices":[],"usage":`...)
		b = appendUsage(b, a.usage)
		_, _ = w.Write(append(b, "}\n\n"...))
	}
	_, _ = w.Write([]byte("data: [DONE]\n\n"))
}
