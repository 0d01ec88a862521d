package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/taskrouter/taskrouter/task"
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

// pause stops the server without closing its port: connections open and
// commands wait for an answer that never comes, as with a hung host.
func (p *privateRedis) pause() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(p.resume)
}

func (p *privateRedis) resume() { _ = p.cmd.Process.Signal(syscall.SIGCONT) }

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

// commandCounter is a go-redis hook counting the commands sent.
type commandCounter struct{ n atomic.Int64 }

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { c.n.Add(1); return next(ctx, cmd) }
}
func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { c.n.Add(1); return next(ctx, cmds) }
}

// TestModelsDuringOutageAnswerFromSnapshot: with Redis hung (its client
// waits a minute for an answer), Models returns the last snapshot with a
// *StaleError instead of waiting, and once the outage is known it sends
// Redis nothing at all.
func TestModelsDuringOutageAnswerFromSnapshot(t *testing.T) {
	t.Parallel()
	srv := startPrivateRedis(t)
	ctx := context.Background()
	o, err := redis.ParseURL(srv.url() + "?dial_timeout=60s&read_timeout=60s&write_timeout=60s")
	if err != nil {
		t.Fatal(err)
	}
	o.ContextTimeoutEnabled = true
	client := redis.NewClient(o)
	defer client.Close()
	sent := &commandCounter{}
	client.AddHook(sent)
	reg, err := NewRedis(ctx, client, WithRefreshInterval(testRefresh), WithHeartbeatTTL(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if err := reg.Announce(ctx, model("m", "answer")); err != nil {
		t.Fatal(err)
	}
	if err := reg.Heartbeat(ctx, Replica{Model: "m", ID: "e1", Capacity: 1}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if list, err := reg.Models(ctx); err != nil || len(list) != 1 {
		t.Fatalf("before the outage: %v, %v", list, err)
	}

	srv.pause()
	// Before the loop has noticed, Models waits one sync timeout at most,
	// not the client's minute; the guard is far below the minute.
	listed := make(chan error, 1)
	go func() {
		list, err := reg.Models(ctx)
		if len(list) != 1 || len(list[0].Replicas) != 1 {
			err = fmt.Errorf("stale list %+v (%w)", list, err)
		}
		listed <- err
	}()
	select {
	case err := <-listed:
		var stale *StaleError
		if !errors.As(err, &stale) || task.AsError(err).Code != task.CodeUnavailable || stale.Since.IsZero() {
			t.Fatalf("Models with Redis hung: %v, want a *StaleError with CodeUnavailable", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Models waited on a hung Redis")
	}
	waitFor(t, 5*time.Second, reg.inOutage)
	before := sent.n.Load()
	for range 10 {
		if list, err := reg.Models(ctx); len(list) != 1 || err == nil {
			t.Fatalf("Models during the outage: %v, %v", list, err)
		}
		if _, err := reg.Select(ctx, Query{Capability: "answer", Hints: task.Hints{Model: "m"}}); err != nil {
			t.Fatalf("Select during the outage: %v", err)
		}
	}
	// The background loop may have sent one sync meanwhile, not ten.
	if n := sent.n.Load() - before; n > 2 {
		t.Errorf("Models sent %d commands to a Redis known to be down", n)
	}
}
