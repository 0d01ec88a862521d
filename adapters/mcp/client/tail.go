package client

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
)

// maxTail is how much of a stdio server's standard error is kept to
// explain why it died.
const maxTail = 1024

// tail keeps the end of a server's standard error and logs each line at
// debug: what a dying server said goes into the error that reports it.
type tail struct {
	log  *slog.Logger
	mu   sync.Mutex
	buf  []byte
	line []byte
}

func newTail(log *slog.Logger) *tail { return &tail{log: log} }

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > maxTail {
		t.buf = t.buf[len(t.buf)-maxTail:]
	}
	t.line = append(t.line, p...)
	for {
		i := bytes.IndexByte(t.line, '\n')
		if i < 0 {
			break
		}
		t.log.Debug("MCP server stderr", "line", string(t.line[:i]))
		t.line = t.line[i+1:]
	}
	if len(t.line) > maxTail {
		t.line = t.line[len(t.line)-maxTail:]
	}
	return len(p), nil
}

// said is the end of what the server wrote on standard error, as a
// clause to append to an error; empty when it wrote nothing.
func (t *tail) said() string {
	if t == nil {
		return ""
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.buf))
	if s == "" {
		return ""
	}
	if i := strings.LastIndexByte(s, '\n'); i >= 0 && len(s)-i > 20 {
		s = s[i+1:]
	}
	return "; its standard error ends: " + s
}
