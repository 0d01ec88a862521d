package bus

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

func TestEmbeddedInProcessAndListening(t *testing.T) {
	ctx := context.Background()
	b, err := Start(ctx, Config{Listen: "127.0.0.1:0", Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if !b.Embedded() || !strings.HasPrefix(b.ClientURL(), "nats://127.0.0.1:") {
		t.Fatalf("embedded %v, client URL %q", b.Embedded(), b.ClientURL())
	}
	inproc, err := b.Connect("inproc")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := inproc.Subscribe("ping", func(m *nats.Msg) { _ = m.Respond([]byte("pong")) })
	if err != nil {
		t.Fatal(err)
	}
	_ = inproc.Flush()
	// Another process would join over TCP at the listen address.
	remote, err := Start(ctx, Config{URL: b.ClientURL()})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := remote.Connect("remote")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := nc.Request("ping", nil, 2*time.Second)
	if err != nil || string(msg.Data) != "pong" {
		t.Fatalf("request over TCP: %v %v", err, msg)
	}
	if err := remote.Close(); err != nil {
		t.Fatal(err)
	}
	_ = sub
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := b.Connect("late"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Connect after Close = %v, want ErrClosed", err)
	}
	if !inproc.IsClosed() {
		t.Fatal("Close left a connection open")
	}
}

func TestEmbeddedWithoutListenIsInProcessOnly(t *testing.T) {
	b, err := Start(context.Background(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.ClientURL() != "" {
		t.Fatalf("ClientURL = %q, want none without nats.listen", b.ClientURL())
	}
	nc, err := b.Connect("x")
	if err != nil {
		t.Fatal(err)
	}
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.AccountInfo(); err != nil {
		t.Fatalf("JetStream is not enabled: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	if _, err := Start(context.Background(), Config{URL: "nats://127.0.0.1:4222", Listen: "127.0.0.1:0"}); err == nil {
		t.Fatal("listen with a URL was accepted")
	}
	if _, err := Start(context.Background(), Config{Listen: "no-port"}); err == nil || !strings.Contains(err.Error(), "host:port") {
		t.Fatalf("bad listen: %v", err)
	}
	b, err := Start(context.Background(), Config{URL: "nats://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Connect("x", nats.MaxReconnects(0), nats.Timeout(200*time.Millisecond)); err == nil || !strings.Contains(err.Error(), "nats://127.0.0.1:1") {
		t.Fatalf("connecting to nothing: %v", err)
	}
}

// A listen address another process holds is reported at once, naming it,
// not as a server that never got ready.
func TestListenAddressInUseIsNamed(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	addr := l.Addr().String()
	_, err = Start(context.Background(), Config{Listen: addr})
	if err == nil || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "already in use") {
		t.Fatalf("listening on a taken %s: %v", addr, err)
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("the cause is not EADDRINUSE: %v", err)
	}
}
