// Package bus connects taskrouter to NATS: to the servers a config names,
// or to a nats-server embedded in the process when none is named.
package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Config says where NATS is. With URL empty, an embedded server is started.
type Config struct {
	// URL is one or more comma-separated NATS URLs; empty embeds a server.
	URL string
	// Listen, for the embedded server, is a host:port on which it also
	// accepts clients, so executors on other machines can join. Empty keeps
	// the embedded server reachable only from inside the process.
	Listen string
	// StoreDir is the embedded server's JetStream directory, created when
	// missing and locked while the bus runs (Start returns a
	// *StoreLockedError when another process holds it); empty uses a
	// fresh temporary directory that is removed on Close.
	StoreDir string
	// Name prefixes connection names, as shown by the server's monitoring.
	Name string
	// Options are this process's client options for URL: credentials,
	// TLS. The embedded server's in-process connections log in by
	// themselves and ignore them.
	Options []nats.Option
	// InboxPrefix, when set, is the inbox prefix of every connection:
	// RouterInboxPrefix for a router, InboxPrefix(user) for a producer.
	InboxPrefix string
	// Auth is who may use the embedded server.
	Auth Auth
	// TLS, for the embedded server, serves TLS on Listen.
	TLS TLSFiles
	// MonitorAddr, for the embedded server, is a host:port serving NATS's
	// monitoring endpoints (/varz, /connz, /jsz, ...); empty serves none.
	MonitorAddr string
	Logger      *slog.Logger
}

// Bus owns the embedded server, if any, and every connection it made.
type Bus struct {
	cfg     Config
	ns      *server.Server
	tempDir string
	lock    *storeLock // on cfg.StoreDir, while the embedded server runs
	// login is how the process's own connections log in to the embedded server.
	login []nats.Option

	mu     sync.Mutex
	conns  []*nats.Conn
	closed bool
}

// ErrClosed is returned by Connect after Close.
var ErrClosed = errors.New("bus: closed")

// Start connects to the configured NATS, starting an embedded server when no
// URL is set. ctx bounds the start.
func Start(ctx context.Context, cfg Config) (*Bus, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Name == "" {
		cfg.Name = "taskrouter"
	}
	b := &Bus{cfg: cfg}
	if cfg.URL != "" {
		if cfg.Listen != "" {
			return nil, errors.New("bus: nats.listen applies only to the embedded server; leave nats.url empty to embed one")
		}
		return b, nil
	}
	if err := b.embed(ctx); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *Bus) embed(ctx context.Context) error {
	open, err := b.cfg.Auth.CheckListen(b.cfg.Listen)
	if err != nil {
		return err
	}
	if err := checkListen(b.cfg.Listen); err != nil {
		return err
	}
	opts, err := b.serverOptions()
	if err != nil {
		return err
	}
	if b.login, err = applyAuth(opts, b.cfg.Auth, open); err != nil {
		b.releaseStore()
		return err
	}
	if open && b.cfg.Listen != "" && !b.cfg.Auth.AllowAnonymous {
		b.cfg.Logger.Warn("the embedded NATS server lets any local client in with full rights; list nats.users (or set nats.token_env) to require logins",
			"listen", b.cfg.Listen)
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		b.releaseStore()
		return fmt.Errorf("starting embedded NATS: %w", err)
	}
	ns.SetLoggerV2(slogLogger{b.cfg.Logger.With("component", "nats-server")}, false, false, false)
	go ns.Start()
	wait := 10 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		wait = time.Until(dl)
	}
	if !ns.ReadyForConnections(wait) {
		ns.Shutdown()
		ns.WaitForShutdown()
		b.releaseStore()
		return fmt.Errorf("starting embedded NATS: not ready after %s", wait)
	}
	if err := enableJetStream(ns); err != nil {
		ns.Shutdown()
		ns.WaitForShutdown()
		b.releaseStore()
		return fmt.Errorf("starting embedded NATS: %w", err)
	}
	b.ns = ns
	return nil
}

func (b *Bus) serverOptions() (*server.Options, error) {
	opts := &server.Options{
		ServerName: b.cfg.Name,
		JetStream:  true,
		NoSigs:     true,
		MaxPayload: 8 << 20,
		DontListen: true,
	}
	if b.cfg.Listen != "" {
		host, port, err := net.SplitHostPort(b.cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("parsing nats.listen %q: %w; use host:port such as 127.0.0.1:4222", b.cfg.Listen, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil || p < 0 || p > 65535 {
			return nil, fmt.Errorf("parsing nats.listen %q: port must be 0-65535", b.cfg.Listen)
		}
		if p == 0 {
			p = server.RANDOM_PORT
		}
		opts.Host, opts.Port, opts.DontListen = host, p, false
		if err := b.cfg.TLS.apply(opts); err != nil {
			return nil, err
		}
	}
	if err := applyMonitor(opts, b.cfg.MonitorAddr); err != nil {
		return nil, err
	}
	opts.StoreDir = filepath.Clean(b.cfg.StoreDir)
	if b.cfg.StoreDir == "" {
		dir, err := os.MkdirTemp("", "taskrouter-nats-")
		if err != nil {
			return nil, fmt.Errorf("creating JetStream store dir: %w", err)
		}
		b.tempDir, opts.StoreDir = dir, dir
		return opts, nil
	}
	lock, err := lockStore(opts.StoreDir)
	if err != nil {
		return nil, err
	}
	b.lock = lock
	return opts, nil
}

// Embedded reports whether this bus runs its own server.
func (b *Bus) Embedded() bool { return b.ns != nil }

// ClientURL is the URL other processes can connect to: the configured URL,
// or the embedded server's listen address ("" when it does not listen).
func (b *Bus) ClientURL() string {
	if b.ns == nil {
		return b.cfg.URL
	}
	if b.cfg.Listen == "" {
		return ""
	}
	return b.ns.ClientURL()
}

// Connect opens a new connection named name. Connections to the embedded
// server are in-process and never touch the network.
func (b *Bus) Connect(name string, opts ...nats.Option) (*nats.Conn, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	all := []nats.Option{
		nats.Name(b.cfg.Name + "/" + name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ErrorHandler(b.asyncError),
		nats.DisconnectErrHandler(b.disconnected),
		nats.ReconnectHandler(b.reconnected),
	}
	if b.cfg.InboxPrefix != "" {
		all = append(all, nats.CustomInboxPrefix(b.cfg.InboxPrefix))
	}
	url := b.cfg.URL
	if b.ns != nil {
		url = ""
		all = append(all, b.login...)
		all = append(all, nats.InProcessServer(b.ns))
	} else {
		all = append(all, b.cfg.Options...)
	}
	all = append(all, opts...)
	nc, err := nats.Connect(url, all...)
	if err != nil {
		return nil, fmt.Errorf("connecting to NATS at %s: %w%s", b.describe(), err, certificateHint(err))
	}
	b.conns = append(b.conns, nc)
	return nc, nil
}

func (b *Bus) describe() string {
	if b.ns != nil {
		return "the embedded server"
	}
	return b.cfg.URL
}

// disconnected logs a lost connection; nats.go reconnects on its own, and
// meanwhile dispatches and job-store calls fail at once as unavailable. A
// Close (err nil) is not worth a line.
func (b *Bus) disconnected(nc *nats.Conn, err error) {
	if err != nil {
		b.cfg.Logger.Warn("NATS connection lost; reconnecting", "connection", nc.Opts.Name, "err", err)
	}
}

func (b *Bus) reconnected(nc *nats.Conn) {
	b.cfg.Logger.Info("NATS connection back", "connection", nc.Opts.Name, "server", nc.ConnectedUrlRedacted())
}

func (b *Bus) asyncError(_ *nats.Conn, sub *nats.Subscription, err error) {
	subject := ""
	if sub != nil {
		subject = sub.Subject
	}
	b.cfg.Logger.Warn("nats async error", "subject", subject, "err", err)
}

// Close drains every connection the bus made, then shuts the embedded
// server down. It is idempotent.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	conns := b.conns
	b.mu.Unlock()
	var errs []error
	for _, nc := range conns {
		if err := drain(nc, 5*time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	if b.ns != nil {
		b.ns.Shutdown()
		b.ns.WaitForShutdown()
	}
	b.releaseStore()
	return errors.Join(errs...)
}

// drain drains nc and waits up to timeout for it to close.
func drain(nc *nats.Conn, timeout time.Duration) error {
	if nc.IsClosed() {
		return nil
	}
	done := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(done) })
	if err := nc.Drain(); err != nil {
		nc.Close() // already closing or draining: nothing left to finish
		return nil
	}
	select {
	case <-done:
		return nil
	case <-time.After(timeout):
		nc.Close()
		return fmt.Errorf("draining NATS connection %s: not done after %s; closed it", nc.Opts.Name, timeout)
	}
}

// releaseStore removes the temporary store directory, or gives up the
// lock on the configured one, once the embedded server is down.
func (b *Bus) releaseStore() {
	if b.tempDir != "" {
		_ = os.RemoveAll(b.tempDir)
		b.tempDir = ""
	}
	b.lock.release()
	b.lock = nil
}
