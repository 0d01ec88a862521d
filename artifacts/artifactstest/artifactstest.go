// Package artifactstest gives tests an artifact store of their own: an
// embedded NATS server with JetStream, and the store's bucket on it.
package artifactstest

import (
	"context"
	"testing"

	"github.com/taskrouter/taskrouter/artifacts"
	"github.com/taskrouter/taskrouter/bus"
)

// Store starts an embedded NATS server for tb, closed at its cleanup, and
// opens an artifact store on it with cfg.
func Store(tb testing.TB, cfg artifacts.Config) *artifacts.Store {
	tb.Helper()
	b, err := bus.Start(context.Background(), bus.Config{Name: "artifactstest"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = b.Close() })
	nc, err := b.Connect("artifactstest")
	if err != nil {
		tb.Fatal(err)
	}
	s, err := artifacts.Open(context.Background(), nc, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
