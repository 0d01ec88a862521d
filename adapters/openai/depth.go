package openai

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/taskrouter/taskrouter/task"
)

// errTooDeep is an answer nested more than task.MaxJSONDepth levels deep,
// which no OpenAI-compatible server sends; it is refused before a parser
// that recurses once per level reads it.
var errTooDeep = errors.New("the upstream sent JSON nested more than " + strconv.Itoa(task.MaxJSONDepth) + " levels deep")

func tooDeepAt(where string, offset int64) error {
	return fmt.Errorf("%w (level %d opens at byte %d of %s)", errTooDeep, task.MaxJSONDepth+1, offset, where)
}

// checkChunk bounds the nesting of one stream chunk.
func checkChunk(raw []byte) error {
	d := task.JSONDepth{Max: task.MaxJSONDepth}
	if n, err := d.Write(raw); err != nil {
		return tooDeepAt("a stream chunk", int64(n))
	}
	return nil
}

// checkedBody bounds the nesting of a JSON answer while go-openai's
// decoder reads it, so an answer is neither buffered twice nor parsed
// past the bound. Streams are checked chunk by chunk instead (see
// collector.add), since their body is not one JSON document.
func checkedBody(resp *http.Response) {
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return
	}
	resp.Body = &depthBody{ReadCloser: resp.Body, depth: task.JSONDepth{Max: task.MaxJSONDepth}}
}

// depthBody is a response body that fails a read once the JSON read so
// far nests too deep.
type depthBody struct {
	io.ReadCloser
	depth task.JSONDepth
	read  int64
	err   error
}

// Read implements io.Reader.
func (b *depthBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.ReadCloser.Read(p)
	if at, derr := b.depth.Write(p[:n]); derr != nil {
		b.err = tooDeepAt("the answer", b.read+int64(at))
		return 0, b.err
	}
	b.read += int64(n)
	return n, err
}
