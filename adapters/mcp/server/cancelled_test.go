package server

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// script is a connection that reads the given messages and records what
// is written.
type script struct {
	in      []string
	written []jsonrpc.Message
}

func (s *script) Read(context.Context) (jsonrpc.Message, error) {
	if len(s.in) == 0 {
		return nil, context.Canceled
	}
	msg, err := jsonrpc.DecodeMessage([]byte(s.in[0]))
	s.in = s.in[1:]
	return msg, err
}

func (s *script) Write(_ context.Context, m jsonrpc.Message) error {
	s.written = append(s.written, m)
	return nil
}

func (s *script) Close() error      { return nil }
func (s *script) SessionID() string { return "" }

type scriptTransport struct{ *script }

func (t scriptTransport) Connect(context.Context) (mcp.Connection, error) { return t.script, nil }

// TestQuietOnCancel: the response to a call the client cancelled is not
// sent; other responses, and notifications, are.
func TestQuietOnCancel(t *testing.T) {
	s := &script{in: []string{
		`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"ask"}}`,
		`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":7,"reason":"user"}}`,
		`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"s-1"}}`,
	}}
	conn, err := quietOnCancel{scriptTransport{s}}.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := conn.Read(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	result := json.RawMessage(`{}`)
	for _, id := range []any{float64(7), float64(8), "s-1", float64(7)} {
		jid, _ := jsonrpc.MakeID(id)
		if err := conn.Write(context.Background(), &jsonrpc.Response{ID: jid, Result: result}); err != nil {
			t.Fatal(err)
		}
	}
	if err := conn.Write(context.Background(), &jsonrpc.Request{Method: "notifications/progress", Params: result}); err != nil {
		t.Fatal(err)
	}
	var got []any
	for _, m := range s.written {
		switch m := m.(type) {
		case *jsonrpc.Response:
			got = append(got, m.ID.Raw())
		case *jsonrpc.Request:
			got = append(got, m.Method)
		}
	}
	// 7 and s-1 were cancelled: their first responses are dropped. A
	// second response with id 7 is another call's.
	if want := []any{int64(8), int64(7), "notifications/progress"}; len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("written %v, want %v", got, want)
	}
}
