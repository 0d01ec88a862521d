package openaitest

import (
	"net/http"
)

// flushAt bounds how much an undelayed stream buffers between writes.
const flushAt = 16 << 10

// chunker appends chat.completion.chunk events to a buffer.
type chunker struct {
	prefix []byte // the head of every chunk up to `"choices":[`
	usage  bool   // every chunk carries "usage":null
	b      []byte
}

func newChunker(a *answer, pre, buf []byte) chunker {
	pre = appendHead(pre, a, "chat.completion.chunk")
	pre = append(pre, `,"choices":[`...)
	return chunker{prefix: pre, usage: a.includeUsage, b: buf}
}

// choice appends a chunk with one choice whose delta is the given JSON
// object and whose finish_reason is finish ("" is null).
func (c *chunker) choice(delta func([]byte) []byte, finish string) {
	c.b = append(c.b, "data: "...)
	c.b = append(c.b, c.prefix...)
	c.b = append(c.b, `{"index":0,"delta":`...)
	c.b = delta(c.b)
	c.b = append(c.b, `,"logprobs":null,"finish_reason":`...)
	c.b = appendStringOrNull(c.b, finish)
	c.b = append(c.b, '}', ']')
	if c.usage {
		c.b = append(c.b, `,"usage":null`...)
	}
	c.b = append(c.b, "}\n\n"...)
}

func (c *chunker) role() {
	c.choice(func(b []byte) []byte { return append(b, `{"role":"assistant","content":""}`...) }, "")
}

func (c *chunker) content(text string) {
	c.b = append(c.b, "data: "...)
	c.b = append(c.b, c.prefix...)
	c.b = append(c.b, `{"index":0,"delta":{"content":`...)
	c.b = appendString(c.b, text)
	c.b = append(c.b, `},"logprobs":null,"finish_reason":null}]`...)
	if c.usage {
		c.b = append(c.b, `,"usage":null`...)
	}
	c.b = append(c.b, "}\n\n"...)
}

func (c *chunker) finish(reason string) {
	c.choice(func(b []byte) []byte { return append(b, '{', '}') }, reason)
}

// usageChunk appends the chunk with empty choices and the usage.
func (c *chunker) usageChunk(u Usage) {
	c.b = append(c.b, "data: "...)
	c.b = append(c.b, c.prefix...)
	c.b = append(c.b, `],"usage":`...)
	c.b = appendUsage(c.b, u)
	c.b = append(c.b, "}\n\n"...)
}

// stream writes the answer as server-sent events. A failure other than
// FailNone strikes after b.ChunksBeforeFailure content chunks.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, a *answer, fail Failure, b Behaviour) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	buf := getBuf()
	defer putBuf(buf)
	var pre [256]byte
	c := newChunker(a, pre[:0], (*buf)[:0])
	flush := func() {
		_, _ = w.Write(c.b)
		_ = rc.Flush()
		c.b = c.b[:0]
	}
	c.role()
	for i, p := range a.pieces {
		if fail != FailNone && i == b.ChunksBeforeFailure {
			break
		}
		if i > 0 && b.TokenDelay > 0 {
			flush()
			if !s.wait(r.Context(), b.TokenDelay) {
				return
			}
		}
		c.content(p)
		if len(c.b) >= flushAt {
			flush()
		}
	}
	if fail != FailNone {
		flush()
		s.strike(w, r, fail, a.id)
		return
	}
	c.finish(a.finish)
	if a.includeUsage {
		c.usageChunk(a.usage)
	}
	c.b = append(c.b, "data: [DONE]\n\n"...)
	_, _ = w.Write(c.b)
	*buf = c.b
}

// strike injects a failure into a stream that has started.
func (s *Server) strike(w http.ResponseWriter, r *http.Request, fail Failure, id string) {
	switch fail {
	case FailReset:
		reset(w)
	case FailMalformed:
		_, _ = w.Write([]byte(`data: {"id":"` + id + `","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":` + "\n\n"))
	case FailStall:
		s.hang(r.Context())
	}
}
