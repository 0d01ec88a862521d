package registry

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"
)

// privateRedis is a redis-server of this test alone, so it can be stopped
// and started again.
type privateRedis struct {
	t    *testing.T
	port int
	cmd  *exec.Cmd
}

func startPrivateRedis(t *testing.T) *privateRedis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is not on PATH (%v): install it (apt-get install redis-server); the outage test runs its own server", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &privateRedis{t: t, port: l.Addr().(*net.TCPAddr).Port}
	_ = l.Close()
	p.start()
	t.Cleanup(p.stop)
	return p
}

func (p *privateRedis) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", p.port) }

// start runs a server without persistence, so a restart loses every key.
func (p *privateRedis) start() {
	p.t.Helper()
	p.cmd = exec.Command("redis-server", "--port", strconv.Itoa(p.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no")
	if err := p.cmd.Start(); err != nil {
		p.t.Fatalf("starting redis-server: %v", err)
	}
	waitFor(p.t, 5*time.Second, func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p.port))
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	})
}

func (p *privateRedis) stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	p.cmd = nil
}

// logCounter counts log records by message.
type logCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

func (l *logCounter) Enabled(context.Context, slog.Level) bool { return true }
func (l *logCounter) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logCounter) WithGroup(string) slog.Handler            { return l }
func (l *logCounter) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.counts[r.Level.String()+" "+r.Message]++
	return nil
}

func (l *logCounter) byLevel(level slog.Level) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for msg, c := range l.counts {
		if len(msg) > len(level.String()) && msg[:len(level.String())] == level.String() {
			n += c
		}
	}
	return n
}

// TestRedisRestart: with Redis gone the router keeps routing from its
// snapshot and logs it once; when Redis comes back empty, executors
// re-register with their heartbeats and the router recovers by itself.
func TestRedisRestart(t *testing.T) {
	t.Parallel()
	srv := startPrivateRedis(t)
	ctx := context.Background()
	const ttl = time.Second // generous: heartbeats must survive a loaded CI machine
	executor, err := OpenRedis(ctx, srv.url(), WithRefreshInterval(testRefresh))
	if err != nil {
		t.Fatal(err)
	}
	defer executor.Close()
	logs := &logCounter{counts: map[string]int{}}
	router, err := OpenRedis(ctx, srv.url(), WithRefreshInterval(testRefresh), WithHeartbeatTTL(time.Second), WithLogger(slog.New(logs)))
	if err != nil {
		t.Fatal(err)
	}
	defer router.Close()

	if err := executor.Announce(ctx, model("m", "answer")); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { heartbeatUntil(executor, Replica{Model: "m", ID: "e1", Capacity: 2}, ttl, stop) })
	defer func() { close(stop); wg.Wait() }()
	waitFor(t, 2*time.Second, func() bool { _, err := router.Select(ctx, answer); return err == nil })

	srv.stop()
	time.Sleep(4 * ttl)
	wantOrder(t, router, answer, "m")
	if _, err := router.Models(ctx); err == nil {
		t.Error("Models with Redis down: no error")
	}
	if n := logs.byLevel(slog.LevelWarn); n != 1 {
		t.Errorf("outage logged %d warnings, want 1: %v", n, logs.counts)
	}

	srv.start()
	waitFor(t, 5*time.Second, func() bool { _, err := router.Models(ctx); return err == nil })
	wantOrder(t, router, answer, "m")
	check, err := OpenRedis(ctx, srv.url())
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	waitFor(t, 2*time.Second, func() bool { l, _ := check.Models(ctx); return len(l) == 1 && len(l[0].Replicas) == 1 })
	if n := logs.byLevel(slog.LevelInfo); n != 1 {
		t.Errorf("recovery logged %d notes, want 1: %v", n, logs.counts)
	}
}

func heartbeatUntil(a Announcer, r Replica, ttl time.Duration, stop <-chan struct{}) {
	tick := time.NewTicker(ttl / 2)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), ttl)
		_ = a.Heartbeat(ctx, r, ttl) // fails while Redis is down
		cancel()
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}
