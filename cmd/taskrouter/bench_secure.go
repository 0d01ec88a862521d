package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/bus/tlstest"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/task"
)

// secureBench is the cost of logins, permissions and TLS: dispatch and raw
// NATS request-reply over TCP to an embedded server, once with TLS and the
// router and executor roles' users, once open and in plain text, in
// alternating rounds of one run.
type secureBench struct {
	TCPNATSRRP50us   float64 `json:"tcp_nats_rr_p50_us"`
	TCPDispatchP50us float64 `json:"tcp_dispatch_p50_us"`
	// TCPDispatchOverheadRatio is dispatch_overhead_ratio over plain TCP
	// without logins.
	TCPDispatchOverheadRatio float64 `json:"tcp_dispatch_overhead_ratio"`

	SecureNATSRRP50us   float64 `json:"secure_nats_rr_p50_us"`
	SecureDispatchP50us float64 `json:"secure_dispatch_p50_us"`
	// SecureDispatchOverheadRatio is dispatch_overhead_ratio with TLS and
	// the roles' permissions.
	SecureDispatchOverheadRatio float64 `json:"secure_dispatch_overhead_ratio"`

	// AuthTLSOverheadRatio is secure_dispatch_overhead_ratio over
	// tcp_dispatch_overhead_ratio (target <= 1.3).
	AuthTLSOverheadRatio float64 `json:"auth_tls_overhead_ratio"`
	// AuthTLSDispatchRatio is the secure dispatch's p50 over the plain one's.
	AuthTLSDispatchRatio float64 `json:"auth_tls_dispatch_ratio"`
}

// benchSecure measures secureBench with n calls per measurement.
func benchSecure(ctx context.Context, n, conc int) (secureBench, error) {
	dir, err := os.MkdirTemp("", "taskrouter-bench-tls-")
	if err != nil {
		return secureBench{}, err
	}
	defer os.RemoveAll(dir)
	ca, err := tlstest.NewCA("taskrouter bench CA")
	if err != nil {
		return secureBench{}, err
	}
	files, err := ca.ServerFiles(dir, "127.0.0.1")
	if err != nil {
		return secureBench{}, err
	}
	plain, err := tcpDispatch(ctx, bus.Config{Name: "bench-tcp", Listen: "127.0.0.1:0"}, nil)
	if err != nil {
		return secureBench{}, fmt.Errorf("plain TCP: %w", err)
	}
	defer plain.close()
	secure, err := tcpDispatch(ctx, bus.Config{Name: "bench-tls", Listen: "127.0.0.1:0",
		TLS: bus.TLSFiles{CertFile: files.CertFile, KeyFile: files.KeyFile}}, &files)
	if err != nil {
		return secureBench{}, fmt.Errorf("TLS with logins: %w", err)
	}
	defer secure.close()
	f, err := measureAll([]func() error{plain.raw, secure.raw, plain.dispatch, secure.dispatch}, n, conc)
	if err != nil {
		return secureBench{}, err
	}
	s := secureBench{TCPNATSRRP50us: f[0].p50, SecureNATSRRP50us: f[1].p50, TCPDispatchP50us: f[2].p50, SecureDispatchP50us: f[3].p50}
	s.TCPDispatchOverheadRatio = round3(s.TCPDispatchP50us / s.TCPNATSRRP50us)
	s.SecureDispatchOverheadRatio = round3(s.SecureDispatchP50us / s.SecureNATSRRP50us)
	s.AuthTLSOverheadRatio = round3(s.SecureDispatchOverheadRatio / s.TCPDispatchOverheadRatio)
	s.AuthTLSDispatchRatio = round3(s.SecureDispatchP50us / s.TCPDispatchP50us)
	return s, nil
}

// tcpSetup is an embedded server with a router, a no-op executor and a
// raw responder, every connection over TCP.
type tcpSetup struct {
	raw, dispatch func() error
	close         func()
}

// tcpDispatch starts a tcpSetup on cfg. With files, the server serves TLS
// and has users: the router, executor and raw clients log in with the
// router and executor roles and trust files' CA.
func tcpDispatch(ctx context.Context, cfg bus.Config, files *tlstest.Files) (*tcpSetup, error) {
	users := map[string]bus.Role{"bench-router": bus.RoleRouter, "bench-exec": bus.RoleExecutor}
	if files != nil {
		for name, role := range users {
			u := bus.User{Name: name, Password: "bench-" + name, Role: role}
			if role == bus.RoleExecutor {
				u.Models = []string{"bench/noop", "bench/raw"}
			}
			cfg.Auth.Users = append(cfg.Auth.Users, u)
		}
	}
	srv, err := bus.Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	var tlsOpts []nats.Option
	if files != nil {
		if tlsOpts, err = (bus.TLSFiles{CAFile: files.CAFile}).ClientOptions(); err != nil {
			_ = srv.Close()
			return nil, err
		}
	}
	client := func(user string) (*nats.Conn, error) {
		opts := append([]nats.Option{nats.CustomInboxPrefix(bus.RouterInboxPrefix)}, tlsOpts...)
		if files != nil {
			opts = append(opts, nats.UserInfo(user, "bench-"+user))
		}
		return nats.Connect(srv.ClientURL(), opts...)
	}
	s, err := newTCPSetup(ctx, client)
	if err != nil {
		_ = srv.Close()
		return nil, err
	}
	inner := s.close
	s.close = func() { inner(); _ = srv.Close() }
	return s, nil
}

func newTCPSetup(ctx context.Context, client func(user string) (*nats.Conn, error)) (*tcpSetup, error) {
	var conns []*nats.Conn
	s := &tcpSetup{close: func() {
		for _, nc := range conns {
			nc.Close()
		}
	}}
	for _, user := range []string{"bench-exec", "bench-router", "bench-exec", "bench-router"} {
		nc, err := client(user)
		if err != nil {
			s.close()
			return nil, err
		}
		conns = append(conns, nc)
	}
	raw, err := rawResponder(conns[0], conns[1], task.ModelSubject("bench/raw"))
	if err != nil {
		s.close()
		return nil, err
	}
	reg := registry.NewMemory()
	spec := task.ModelSpec{Name: "bench/noop", Backend: task.BackendLocal, Capabilities: []string{"noop"}, Concurrency: 256}
	ex, err := executors.Start(ctx, conns[2], executors.Config{ID: "bench", Announcer: reg, MaxQueue: 1 << 16,
		Models: []executors.Served{{Spec: spec, Model: noop{}}}})
	if err != nil {
		s.close()
		return nil, err
	}
	r, err := router.New(conns[3], reg, nil, router.Config{AcceptTimeout: 10 * time.Second})
	if err != nil {
		ex.Stop()
		s.close()
		return nil, err
	}
	one := task.Plan{Tasks: []task.Subtask{{ID: "t1", Capability: "noop", Input: "x", Deps: []string{}}}}
	s.raw = raw
	s.dispatch = func() error {
		if resp := r.Run(ctx, task.Request{Input: "bench"}, one, nil); resp.Error != nil {
			return resp.Error
		}
		return nil
	}
	inner := s.close
	s.close = func() { _ = r.Close(); ex.Stop(); _ = reg.Close(); inner() }
	return s, nil
}
