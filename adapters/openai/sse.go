package openai

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	goopenai "github.com/sashabaranov/go-openai"
	"github.com/tidwall/gjson"
)

// maxLinesWithoutData bounds the lines a stream may send that carry no
// data (comments, event names, blank lines), as go-openai does, so that
// a server answering something other than server-sent events fails.
const maxLinesWithoutData = 300

// streamReadBuffer is the buffer a stream is read through. A chunk's line
// is a few hundred bytes; a longer one is read in parts (readLine). The
// transport buffers the connection already, and a thousand open streams
// hold a thousand of these.
const streamReadBuffer = 512

// relayStream makes a streamed call and passes each chunk on as the
// upstream sent it, while collecting the answer. Every error it returns
// is a *task.Error.
func (m *Model) relayStream(ctx context.Context, path string, body []byte, chunk func([]byte, string)) (answer, error) {
	sctx, call := withCallState(ctx)
	sctx, stop := context.WithCancelCause(sctx)
	defer stop(nil)
	idle := time.AfterFunc(m.idle, func() { stop(errStalled) })
	defer idle.Stop()
	resp, err := m.post(sctx, path, body, true)
	if err != nil {
		return answer{}, m.classify(ctx, sctx, call, err)
	}
	defer resp.Body.Close()
	a, err := m.readEvents(bufio.NewReaderSize(resp.Body, streamReadBuffer), idle, chunk)
	if err != nil {
		return answer{}, m.classify(ctx, sctx, call, err)
	}
	return a, nil
}

// readEvents reads server-sent events until [DONE] or the end of the
// stream, re-arming the idle timer on every line. A data line holding an
// error object ends the stream with that error, as go-openai reads it.
func (m *Model) readEvents(r *bufio.Reader, idle *time.Timer, chunk func([]byte, string)) (answer, error) {
	var col collector
	events := eventReader{r: r, read: func() { idle.Reset(m.idle) }}
	for {
		data, err := events.next()
		end := errors.Is(err, io.EOF) || err == nil && string(data) == "[DONE]"
		switch {
		case end && col.ended: // some servers end without [DONE]
			return answer{text: col.text.String(), calls: col.toolCalls(), usage: col.usage, finish: col.finish}, nil
		case end:
			return answer{}, errTruncated
		case err != nil:
			return answer{}, err
		}
		if err := streamError(data); err != nil {
			return answer{}, err
		}
		delta, err := col.add(data)
		if err != nil {
			return answer{}, err
		}
		if bytes.IndexByte(data, '\r') >= 0 {
			data = compact(data) // a bare CR would end the line for the client's SSE reader
		}
		if chunk != nil {
			chunk(data, delta)
		}
	}
}

// eventReader reads the data of a server-sent event stream.
type eventReader struct {
	r *bufio.Reader
	// long holds a line longer than r's buffer, read in parts; a line
	// that fits is read in place.
	long []byte
	read func() // called on every line read
}

// next returns the payload of the next data line, or the error that
// ended the stream (io.EOF at its end). The payload is valid until the
// next call.
func (er *eventReader) next() ([]byte, error) {
	empty := 0
	for {
		line, err := readLine(er.r, &er.long)
		if len(line) == 0 && err != nil {
			return nil, err
		}
		er.read()
		if data, ok := eventData(line); ok {
			return data, nil
		}
		if empty++; empty > maxLinesWithoutData {
			return nil, goopenai.ErrTooManyEmptyStreamMessages
		}
	}
}

// readLine returns the next line of r, without its line ending. A line
// that fits r's buffer is returned in place, valid until the next read
// of r: a stream's lines are not copied, and an open stream holds no
// line besides its buffer. A longer one is read in parts into *long. A
// line longer than maxRelayBody is an error.
func readLine(r *bufio.Reader, long *[]byte) ([]byte, error) {
	part, err := r.ReadSlice('\n')
	if !errors.Is(err, bufio.ErrBufferFull) {
		return bytes.TrimRight(part, "\r\n"), err
	}
	*long = append((*long)[:0], part...)
	for {
		part, err = r.ReadSlice('\n')
		*long = append(*long, part...)
		if len(*long) > maxRelayBody {
			return nil, errTooLarge
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return bytes.TrimRight(*long, "\r\n"), err
		}
	}
}

// compact removes the insignificant whitespace of a valid JSON chunk.
func compact(data []byte) []byte {
	var b bytes.Buffer
	if json.Compact(&b, data) != nil {
		return data
	}
	return b.Bytes()
}

// eventData returns the payload of a "data:" line.
func eventData(line []byte) ([]byte, bool) {
	rest, ok := bytes.CutPrefix(line, []byte("data:"))
	if !ok {
		return nil, false
	}
	return bytes.TrimSpace(rest), true
}

// streamError returns the error a data line carries instead of a chunk:
// {"error": {...}}, as OpenAI and vLLM send when a stream fails midway.
func streamError(data []byte) error {
	e := gjson.GetBytes(data, "error")
	if !e.IsObject() || gjson.GetBytes(data, "choices").Exists() {
		return nil
	}
	var er goopenai.ErrorResponse
	if err := json.Unmarshal(data, &er); err != nil || er.Error == nil {
		return fmt.Errorf("%w: %s", errMalformedChunk, e.Raw)
	}
	return er.Error
}
