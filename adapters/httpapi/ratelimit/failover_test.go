package ratelimit

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// privateRedis is a redis-server of this test alone, so that it can die
// and come back; it has no persistence.
type privateRedis struct {
	t    *testing.T
	port int
	cmd  *exec.Cmd
}

func startPrivateRedis(t *testing.T) *privateRedis {
	t.Helper()
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

func (p *privateRedis) addr() string { return fmt.Sprintf("127.0.0.1:%d", p.port) }

func (p *privateRedis) start() {
	p.t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		p.t.Fatalf("redis-server is not on PATH (%v): install it (apt-get install redis-server)", err)
	}
	p.cmd = exec.Command("redis-server", "--port", strconv.Itoa(p.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := p.cmd.Start(); err != nil {
		p.t.Fatalf("starting redis-server: %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: p.addr()})
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); c.Ping(context.Background()).Err() != nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			p.t.Fatalf("redis-server on %s did not answer", p.addr())
		}
	}
}

func (p *privateRedis) stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	p.cmd = nil
}

// takeN takes n tokens for caller and returns how many were allowed.
func takeN(t *testing.T, l Limiter, caller string, n int) int {
	t.Helper()
	allowed := 0
	for range n {
		d, err := l.Take(context.Background(), caller)
		if err != nil {
			t.Fatalf("Take: %v", err)
		}
		if d.Allowed {
			allowed++
		} else if d.RetryAfter <= 0 {
			t.Fatal("refused with no RetryAfter")
		}
	}
	return allowed
}

// TestFailoverKeepsTheLimitThroughAnOutage: with its Redis dead, the
// limit holds in the process (the burst passes, the rest does not), and
// when Redis is back the buckets are in Redis again.
func TestFailoverKeepsTheLimitThroughAnOutage(t *testing.T) {
	srv := startPrivateRedis(t)
	rc := redis.NewClient(&redis.Options{Addr: srv.addr(), ContextTimeoutEnabled: true})
	defer rc.Close()
	lim := Limit{Rate: 0.5, Burst: 10}
	shared, err := NewRedis(rc, "rl:", lim)
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFailover(shared, lim, FailoverConfig{Retry: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// 100 takes last well under 10 s, which refill at most 5 tokens.
	if n := takeN(t, f, "before", 100); n < lim.Burst || n > lim.Burst+5 {
		t.Fatalf("with Redis up %d of 100 passed a burst of %d", n, lim.Burst)
	}
	if rc.Exists(context.Background(), "rl:before").Val() != 1 {
		t.Fatal("the bucket is not in Redis")
	}

	srv.stop()
	if n := takeN(t, f, "during", 100); n < lim.Burst || n > lim.Burst+5 {
		t.Fatalf("with Redis down %d of 100 passed a burst of %d", n, lim.Burst)
	}
	// The key that had used its burst through Redis gets no fresh one.
	if n := takeN(t, f, "before", 5); n > 1 {
		t.Errorf("with Redis down a key that had used its burst got %d more", n)
	}

	srv.start()
	deadline := time.Now().Add(10 * time.Second)
	for rc.Exists(context.Background(), "rl:after").Val() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the limiter did not use Redis again after it came back")
		}
		takeN(t, f, "after", 1)
		time.Sleep(20 * time.Millisecond)
	}
}

// quietLogger drops go-redis's notes on the dials that fail during the
// outage the tests cause.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	redis.SetLogger(quietLogger{})
	m.Run()
}
