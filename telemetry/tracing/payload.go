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

// payload is one export's request body, pooled. The transport may still
// read a body after Do returns, so a payload goes back to the pool only
// when the export and every reader of it are done: refs counts them.
type payload struct {
	enc  encoder
	gz   *gzip.Writer
	zbuf bytes.Buffer
	body []byte
	refs atomic.Int32
}

var payloads = sync.Pool{New: func() any { return new(payload) }}

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
	payloads.Put(p)
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
