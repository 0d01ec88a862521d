package openaitest

import (
	"net/http"
	"strconv"
)

// flushAt bounds how much an undelayed stream buffers between writes.
const flushAt = 16 << 10

// chunker appends chat.completion.chunk events to a buffer.
type chunker struct {
	prefix []byte // the head of every chunk up to `"choices":[`
	usage  bool   // every chunk carries "usage":null
	a      *answer
	b      []byte
}

func newChunker(a *answer, pre, buf []byte) chunker {
	pre = appendHead(pre, a, "chat.completion.chunk")
	pre = append(pre, `,"choices":[`...)
	return chunker{prefix: pre, usage: a.includeUsage, a: a, b: buf}
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
	c.b = append(c.b, `},"logprobs":`...)
	c.b = appendChatLogprobs(c.b, c.a, []string{text})
	c.b = append(c.b, `,"finish_reason":null}]`...)
	if c.usage {
		c.b = append(c.b, `,"usage":null`...)
	}
	c.b = append(c.b, "}\n\n"...)
}

// callHead appends the first chunk of the i-th tool call: its index, id,
// type and name, with empty arguments. The first chunk of an answer
// without text also carries the role and a null content, as OpenAI's do.
func (c *chunker) callHead(call ToolCall, i int, first bool) {
	c.choice(func(b []byte) []byte {
		if first {
			b = append(b, `{"role":"assistant","content":null,"tool_calls":[`...)
		} else {
			b = append(b, `{"tool_calls":[`...)
		}
		b = appendCallHead(b, call, i)
		b = append(b, `""}}]`...)
		if first {
			b = append(b, `,"refusal":null`...)
		}
		return append(b, '}')
	}, "")
}

// callArgs appends a chunk with a fragment of the i-th call's arguments.
func (c *chunker) callArgs(i int, fragment string) {
	c.choice(func(b []byte) []byte {
		b = append(b, `{"tool_calls":[{"index":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `,"function":{"arguments":`...)
		b = appendString(b, fragment)
		return append(b, "}}]}"...)
	}, "")
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

// stream writes the answer as server-sent events: the text, then the
// tool calls. A failure other than FailNone strikes after
// b.ChunksBeforeFailure content chunks (text pieces and tool call chunks).
func (s *Server) stream(w http.ResponseWriter, r *http.Request, a *answer, fail Failure, b Behaviour) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	buf := getBuf()
	defer putBuf(buf)
	var pre [256]byte
	p := pacer{s: s, w: w, rc: http.NewResponseController(w), r: r, b: b, fail: fail,
		c: newChunker(a, pre[:0], (*buf)[:0])}
	c := &p.c
	onlyCalls := len(a.pieces) == 0 && len(a.calls) > 0
	if !onlyCalls {
		c.role()
	}
	for _, piece := range a.pieces {
		if !p.next() {
			break
		}
		c.content(piece)
	}
	for i, call := range a.calls {
		if !p.next() {
			break
		}
		c.callHead(call, i, i == 0 && onlyCalls)
		for _, f := range argPieces(call.Arguments) {
			if !p.next() {
				break
			}
			c.callArgs(i, f)
		}
	}
	switch {
	case p.gone:
		return
	case fail != FailNone:
		p.flush()
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

// pacer spaces the content chunks of a stream and stops it where the
// injected failure strikes or when the client goes away.
type pacer struct {
	s    *Server
	w    http.ResponseWriter
	rc   *http.ResponseController
	r    *http.Request
	b    Behaviour
	fail Failure
	c    chunker

	sent    int  // content chunks so far
	stopped bool // no more content chunks
	gone    bool // the client or the server went away
}

// next reports whether another content chunk may follow, after waiting
// the token delay when there is one.
func (p *pacer) next() bool {
	switch {
	case p.stopped:
		return false
	case p.fail != FailNone && p.sent == p.b.ChunksBeforeFailure:
		p.stopped = true
		return false
	case p.sent > 0 && p.b.TokenDelay > 0:
		p.flush()
		if !p.s.wait(p.r.Context(), p.b.TokenDelay) {
			p.stopped, p.gone = true, true
			return false
		}
	case len(p.c.b) >= flushAt:
		p.flush()
	}
	p.sent++
	return true
}

// flush writes what the chunker holds.
func (p *pacer) flush() {
	_, _ = p.w.Write(p.c.b)
	_ = p.rc.Flush()
	p.c.b = p.c.b[:0]
}

// strike injects a failure into a stream that has started.
func (s *Server) strike(w http.ResponseWriter, r *http.Request, fail Failure, id string) {
	switch fail {
	case FailReset:
		reset(w)
	case FailMalformed:
		_, _ = w.Write([]byte(`data: {"id":"` + id + `","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":` + "\n\n"))
	case FailDeepJSON:
		_, _ = w.Write(deepJSON(`data: {"id":"`+id+`","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":`, "}]}\n\n"))
	case FailStall:
		s.hang(r.Context())
	}
}
