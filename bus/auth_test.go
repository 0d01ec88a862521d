package bus_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/bus/authtest"
	"github.com/taskrouter/taskrouter/bus/tlstest"
)

func start(t *testing.T, cfg bus.Config) *bus.Bus {
	t.Helper()
	b, err := bus.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// The embedded server with users passes the roles' suite, and the
// process's own connections still do everything (JetStream included).
func TestEmbeddedServerRoles(t *testing.T) {
	b := start(t, bus.Config{Listen: "127.0.0.1:0", Auth: bus.Auth{Users: authtest.Users()}})
	authtest.Run(t, authtest.Target{URL: b.ClientURL()})
	nc, err := b.Connect("internal")
	if err != nil {
		t.Fatal(err)
	}
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.AccountInfo(); err != nil {
		t.Fatalf("the process's own connection has no JetStream: %v", err)
	}
}

// Before auth, nats.listen on any address let anyone in: listening
// beyond loopback without users, a token or allow_anonymous is refused.
func TestOpenListenBeyondLoopbackIsRefused(t *testing.T) {
	_, err := bus.Start(context.Background(), bus.Config{Listen: "0.0.0.0:0"})
	if !errors.Is(err, bus.ErrOpenListen) || !strings.Contains(err.Error(), "nats.allow_anonymous: true") {
		t.Fatalf("open on 0.0.0.0: %v", err)
	}
	b := start(t, bus.Config{Listen: "0.0.0.0:0", Auth: bus.Auth{AllowAnonymous: true}})
	if b.ClientURL() == "" {
		t.Fatal("allow_anonymous did not start the server")
	}
}

// On loopback without users the server starts open, and says so.
func TestOpenLoopbackWarns(t *testing.T) {
	var logs bytes.Buffer
	b := start(t, bus.Config{Listen: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	nc, err := nats.Connect(b.ClientURL())
	if err != nil {
		t.Fatalf("an anonymous local client: %v", err)
	}
	nc.Close()
	if !strings.Contains(logs.String(), "any local client") {
		t.Errorf("no warning about the open server: %q", logs.String())
	}
}

// nats.token_env with nats.listen used to leave the embedded server open:
// a client without the token got answers.
func TestTokenProtectsTheEmbeddedServer(t *testing.T) {
	b := start(t, bus.Config{Listen: "127.0.0.1:0", Auth: bus.Auth{Token: "s3cret"}})
	if _, err := nats.Connect(b.ClientURL(), nats.MaxReconnects(0)); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("a client without the token: %v, want an authorization violation", err)
	}
	if _, err := nats.Connect(b.ClientURL(), nats.Token("wrong"), nats.MaxReconnects(0)); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("a client with a wrong token: %v", err)
	}
	nc, err := nats.Connect(b.ClientURL(), nats.Token("s3cret"))
	if err != nil {
		t.Fatalf("a client with the token: %v", err)
	}
	nc.Close()
	if _, err := b.Connect("internal"); err != nil {
		t.Fatalf("the process's own connection: %v", err)
	}
	if _, err := bus.Start(context.Background(), bus.Config{Listen: "127.0.0.1:0", Auth: bus.Auth{Token: "x", Users: authtest.Users()}}); err == nil {
		t.Fatal("a token with users was accepted")
	}
}

// TLS with a CA the test makes: the suite passes over TLS; a client that
// trusts another CA fails naming the certificate problem.
func TestEmbeddedServerTLS(t *testing.T) {
	dir := t.TempDir()
	files := serverFiles(t, "taskrouter test CA", dir, "127.0.0.1", "localhost")
	b := start(t, bus.Config{Listen: "127.0.0.1:0", TLS: bus.TLSFiles{CertFile: files.CertFile, KeyFile: files.KeyFile},
		Auth: bus.Auth{Users: authtest.Users()}})
	good, err := bus.TLSFiles{CAFile: files.CAFile}.ClientOptions()
	if err != nil {
		t.Fatal(err)
	}
	authtest.Run(t, authtest.Target{URL: b.ClientURL(), Options: good})

	other := serverFiles(t, "another CA", t.TempDir(), "127.0.0.1")
	client, err := bus.Start(context.Background(), bus.Config{URL: b.ClientURL(), Options: mustTLS(t, bus.TLSFiles{CAFile: other.CAFile})})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	_, err = client.Connect("wrong-ca", append(authtest.Login("prod-1"), nats.MaxReconnects(0))...)
	if err == nil || !strings.Contains(err.Error(), "x509: certificate signed by unknown authority") || !strings.Contains(err.Error(), "nats.tls.ca_file") {
		t.Fatalf("a client trusting another CA: %v", err)
	}
	if _, err := nats.Connect(b.ClientURL(), append(authtest.Login("prod-1"), nats.MaxReconnects(0))...); err == nil {
		t.Fatal("a plain-text client got in to a TLS server")
	}
}

func serverFiles(t *testing.T, ca, dir string, hosts ...string) tlstest.Files {
	t.Helper()
	c, err := tlstest.NewCA(ca)
	if err != nil {
		t.Fatal(err)
	}
	f, err := c.ServerFiles(dir, hosts...)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func mustTLS(t *testing.T, f bus.TLSFiles) []nats.Option {
	t.Helper()
	opts, err := f.ClientOptions()
	if err != nil {
		t.Fatal(err)
	}
	return opts
}

// The admin user reaches the system account, and the monitoring endpoint
// answers when asked for.
func TestSystemAccountAndMonitor(t *testing.T) {
	b := start(t, bus.Config{Listen: "127.0.0.1:0", MonitorAddr: "127.0.0.1:0", Auth: bus.Auth{Users: authtest.Users()}})
	nc := authtest.Target{URL: b.ClientURL()}.As(t, "admin")
	m, err := nc.Request("$SYS.REQ.SERVER.PING.JSZ", nil, 5*time.Second)
	if err != nil || !strings.Contains(string(m.Data), `"streams"`) && !strings.Contains(string(m.Data), `"config"`) {
		t.Fatalf("JetStream report: %v %s", err, m.Data)
	}
	if b.MonitorURL() == "" {
		t.Fatal("no monitoring address")
	}
	resp, err := http.Get(b.MonitorURL() + "/varz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /varz: %v %v", resp, err)
	}
	resp.Body.Close()
}
