package httpapi

import (
	"context"
	"net/http"
)

// mcp serves /mcp with the configured MCP handler, once the caller's key
// and rate limit are checked. A GET opens the server's own event stream
// of an MCP session, which lasts as long as the session: it ends when
// Shutdown starts, as the console's does, so that a client holding one
// open never holds a shutdown up. Calls in progress (POST) finish.
func (s *Server) mcp(w http.ResponseWriter, r *http.Request, _ caller) {
	if r.Method == http.MethodGet {
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		go func() {
			select {
			case <-s.closing:
				cancel()
			case <-ctx.Done():
			}
		}()
		r = r.WithContext(ctx)
	}
	s.cfg.MCP.ServeHTTP(w, r)
}
