package tracing

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// maxPooled is the largest buffer kept for the next export, so that one
// huge batch does not hold its memory for good.
const maxPooled = 4 << 20

// payload is one export's request body, kept for the next export. The
// transport may still read a body after Do returns, so a payload goes
// back only when the export and every reader of it are done: refs counts
// them.
type payload struct {
	enc  encoder
	gz   *gzip.Writer
	zbuf bytes.Buffer
	body []byte
	refs atomic.Int32
	home *payloads
}

// payloads keeps an exporter's spare payload. Not a sync.Pool: the batcher
// exports every few seconds, or every few milliseconds under load, and a
// busy process collects garbage in between, which empties a sync.Pool and
// had every export grow its buffer afresh.
type payloads struct{ spare atomic.Pointer[payload] }

// get returns the spare payload, or a new one.
func (h *payloads) get() *payload {
	if p := h.spare.Swap(nil); p != nil {
		return p
	}
	return &payload{home: h}
}

func (p *payload) encode(spans []sdktrace.ReadOnlySpan, gz bool) error {
	p.body = p.enc.encode(spans)
	if !gz || len(p.body) == 0 {
		return nil
	}
	p.zbuf.Reset()
	if p.gz == nil {
		p.gz = gzip.NewWriter(&p.zbuf)
	} else {
		p.gz.Reset(&p.zbuf)
	}
	if _, err := p.gz.Write(p.body); err != nil {
		return fmt.Errorf("compressing spans: %w", err)
	}
	if err := p.gz.Close(); err != nil {
		return fmt.Errorf("compressing spans: %w", err)
	}
	p.body = p.zbuf.Bytes()
	return nil
}

func (p *payload) reader() io.ReadCloser {
	p.refs.Add(1)
	return &payloadReader{Reader: bytes.NewReader(p.body), p: p}
}

func (p *payload) release() {
	if p.refs.Add(-1) != 0 {
		return
	}
	if cap(p.enc.buf) > maxPooled || p.zbuf.Cap() > maxPooled {
		return
	}
	p.body = nil
	p.enc.forget()
	p.home.spare.CompareAndSwap(nil, p)
}

type payloadReader struct {
	*bytes.Reader
	p    *payload
	once sync.Once
}

func (r *payloadReader) Close() error {
	r.once.Do(r.p.release)
	return nil
}
