package client

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// session is one connection to the server: one process of a stdio
// server, one MCP session of an HTTP one. done is closed when it ends.
type session struct {
	cs      *mcp.ClientSession
	started time.Time
	stderr  *tail
	done    chan struct{}
	err     error // why it ended; set before done is closed
	once    sync.Once
}

// connect starts the server (stdio) or opens a session (HTTP) and
// initialises MCP.
func (c *Client) connect(ctx context.Context) (*session, error) {
	s := &session{started: time.Now(), done: make(chan struct{})}
	var t mcp.Transport
	if len(c.cfg.Command) > 0 {
		cmd := exec.Command(c.cfg.Command[0], c.cfg.Command[1:]...)
		cmd.Env = c.cfg.Env
		s.stderr = newTail(c.cfg.Logger.With("server", c.cfg.Name))
		cmd.Stderr = s.stderr
		t = &mcp.CommandTransport{Command: cmd, TerminateDuration: 2 * time.Second}
	} else {
		hc := *c.cfg.HTTPClient
		hc.Transport = headerTransport{header: c.cfg.Header, next: hc.Transport}
		t = &mcp.StreamableClientTransport{Endpoint: c.cfg.URL, HTTPClient: &hc}
	}
	cs, err := c.mcp.Connect(ctx, t, nil)
	if err != nil {
		return nil, fmt.Errorf("connecting to MCP server %s: %w%s", c.cfg.Name, err, s.stderr.said())
	}
	s.cs = cs
	go func() {
		err := cs.Wait()
		s.end(err)
	}()
	return s, nil
}

// end records why the session ended and closes done, once.
func (s *session) end(err error) {
	s.once.Do(func() {
		s.err = err
		close(s.done)
	})
}

// ended reports whether the session is over.
func (s *session) ended() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// kill ends a session that broke mid-call, so that the server restarts.
func (s *session) kill(why error) {
	_ = s.cs.Close()
	s.end(why)
}

// headerTransport adds the configured headers to every request.
type headerTransport struct {
	header http.Header
	next   http.RoundTripper
}

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if len(h.header) > 0 {
		r = r.Clone(r.Context())
		for k, vs := range h.header {
			r.Header[k] = append([]string(nil), vs...)
		}
	}
	next := h.next
	if next == nil {
		next = http.DefaultTransport
	}
	return next.RoundTrip(r)
}
