package openaitest

import (
	"net/http"
	"strconv"
	"sync"
	"unicode/utf8"
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) <= 1<<20 {
		bufPool.Put(b)
	}
}

// writeJSON writes a complete JSON answer.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendEscaped(b, s)
	return append(b, '"')
}

// appendEscaped appends s escaped for the inside of a JSON string. Invalid
// UTF-8 becomes U+FFFD; U+2028 and U+2029 are escaped as encoding/json does.
func appendEscaped(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&15])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(b, s[start:]...)
}

func appendStringOrNull(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendString(b, s)
}

// appendUsage appends a usage object with OpenAI's details, which a
// gateway must pass on.
func appendUsage(b []byte, u Usage) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(u.PromptTokens), 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, int64(u.CompletionTokens), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(u.PromptTokens+u.CompletionTokens), 10)
	return append(b, `,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},`+
		`"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`...)
}

// appendHead appends the fields every completion object starts with.
func appendHead(b []byte, a *answer, object string) []byte {
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

// writeCompletion writes a non-streaming chat.completion object.
func writeCompletion(w http.ResponseWriter, a *answer) {
	buf := getBuf()
	defer putBuf(buf)
	b := appendHead((*buf)[:0], a, "chat.completion")
	b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	if len(a.calls) > 0 && len(a.pieces) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		for _, p := range a.pieces {
			b = appendEscaped(b, p)
		}
		b = append(b, '"')
	}
	if len(a.calls) > 0 {
		b = append(b, `,"tool_calls":[`...)
		for i, c := range a.calls {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCallHead(b, c, -1)
			b = appendString(b, c.Arguments)
			b = append(b, '}', '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"refusal":null},"logprobs":`...)
	b = appendChatLogprobs(b, a, a.pieces)
	b = append(b, `,"finish_reason":`...)
	b = appendString(b, a.finish)
	b = append(b, '}', ']')
	if a.withUsage {
		b = append(b, `,"usage":`...)
		b = appendUsage(b, a.usage)
	}
	b = append(b, "}\n"...)
	*buf = b
	writeJSON(w, 200, b)
}

// appendCallHead appends a tool call object up to the value of its
// arguments: with its index when index is not negative, as in streams.
func appendCallHead(b []byte, c ToolCall, index int) []byte {
	b = append(b, '{')
	if index >= 0 {
		b = append(b, `"index":`...)
		b = strconv.AppendInt(b, int64(index), 10)
		b = append(b, ',')
	}
	b = append(b, `"id":`...)
	b = appendString(b, c.ID)
	b = append(b, `,"type":"function","function":{"name":`...)
	b = appendString(b, c.Name)
	return append(b, `,"arguments":`...)
}

// writeModels writes the model list of GET /v1/models.
func writeModels(w http.ResponseWriter, names []string) {
	buf := getBuf()
	defer putBuf(buf)
	b := append((*buf)[:0], `{"object":"list","data":[`...)
	for i, n := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendString(b, n)
		b = append(b, `,"object":"model","created":1700000000,"owned_by":"openaitest"}`...)
	}
	b = append(b, "]}\n"...)
	*buf = b
	writeJSON(w, 200, b)
}
