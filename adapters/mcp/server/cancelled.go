package server

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// quietOnCancel is a transport that sends no response to a request the
// client cancelled, as MCP asks ("not send a response for the cancelled
// request"). The SDK (v1.8.0) answers it anyway (go-sdk issues 1235 and
// 1259); the TypeScript SDK's client reports an answer to a call it no
// longer waits for as a protocol error, on which some hosts drop the
// stdio connection and restart the server.
type quietOnCancel struct{ mcp.Transport }

// Connect implements mcp.Transport.
func (t quietOnCancel) Connect(ctx context.Context) (mcp.Connection, error) {
	c, err := t.Transport.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &quietConn{Connection: c, cancelled: map[jsonrpc.ID]bool{}}, nil
}

// maxCancelled bounds the ids remembered: one whose call had ended
// before its cancellation arrived is never answered again, so it would
// stay.
const maxCancelled = 1024

type quietConn struct {
	mcp.Connection
	mu        sync.Mutex
	cancelled map[jsonrpc.ID]bool
}

// Read implements mcp.Connection, noting the calls the client cancels.
func (c *quietConn) Read(ctx context.Context) (jsonrpc.Message, error) {
	msg, err := c.Connection.Read(ctx)
	if req, ok := msg.(*jsonrpc.Request); ok && !req.IsCall() && req.Method == "notifications/cancelled" {
		var p struct {
			RequestID any `json:"requestId"`
		}
		if json.Unmarshal(req.Params, &p) == nil {
			if id, err := jsonrpc.MakeID(p.RequestID); err == nil && id.IsValid() {
				c.mu.Lock()
				if len(c.cancelled) >= maxCancelled {
					clear(c.cancelled)
				}
				c.cancelled[id] = true
				c.mu.Unlock()
			}
		}
	}
	return msg, err
}

// Write implements mcp.Connection, dropping the responses to cancelled
// calls.
func (c *quietConn) Write(ctx context.Context, msg jsonrpc.Message) error {
	if resp, ok := msg.(*jsonrpc.Response); ok {
		c.mu.Lock()
		drop := c.cancelled[resp.ID]
		delete(c.cancelled, resp.ID)
		c.mu.Unlock()
		if drop {
			return nil
		}
	}
	return c.Connection.Write(ctx, msg)
}
