package ratelimit

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/taskrouter/taskrouter/task"
)

// redisClient connects to the test Redis: 127.0.0.1:6379, or the address
// in TASKROUTER_TEST_REDIS. A missing Redis fails the test: `make test`
// starts one.
func redisClient(t *testing.T) *redis.Client {
	t.Helper()
	addr := os.Getenv("TASKROUTER_TEST_REDIS")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	c := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 64})
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("Redis at %s: %v (start one with scripts/ensure-redis, or set TASKROUTER_TEST_REDIS)", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// hammer makes workers goroutines take tokens for the caller as fast as
// they can for d, and returns how many were allowed and the time it took.
func hammer(t *testing.T, limiters []Limiter, caller string, workers int, d time.Duration) (int64, time.Duration) {
	t.Helper()
	var allowed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	stop := start.Add(d)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := limiters[w%len(limiters)]
			for time.Now().Before(stop) {
				dec, err := l.Take(context.Background(), caller)
				if err != nil {
					t.Error(err)
					return
				}
				if dec.Allowed {
					allowed.Add(1)
				} else if dec.RetryAfter <= 0 {
					t.Error("refused with no RetryAfter")
					return
				}
			}
		}()
	}
	wg.Wait()
	return allowed.Load(), time.Since(start)
}

// The limit is never exceeded under concurrent load: in any run of length
// T at most Burst + Rate*T requests pass. It also passes about that many,
// so a limiter that refuses everything fails too.
func TestNeverExceededUnderConcurrentLoad(t *testing.T) {
	lim := Limit{Rate: 200, Burst: 20}
	mem, err := NewMemory(lim)
	if err != nil {
		t.Fatal(err)
	}
	rc := redisClient(t)
	prefix := "taskrouter-test:" + task.NewID("") + ":"
	t.Cleanup(func() { rc.Del(context.Background(), prefix+"k") })
	// Two limiters on two connections stand for two routers sharing Redis.
	r1, _ := NewRedis(rc, prefix, lim)
	rc2 := redisClient(t)
	r2, _ := NewRedis(rc2, prefix, lim)
	cases := []struct {
		name     string
		limiters []Limiter
	}{
		{"memory", []Limiter{mem}},
		{"redis, two routers", []Limiter{r1, r2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			allowed, took := hammer(t, c.limiters, "k", 32, 600*time.Millisecond)
			bound := float64(lim.Burst) + lim.Rate*took.Seconds()
			if float64(allowed) > bound {
				t.Fatalf("%d requests passed in %s; the limit allows at most %.0f", allowed, took, bound)
			}
			// How many more than the burst pass depends on how much CPU the
			// callers got; the burst itself must always pass.
			if allowed < int64(lim.Burst) {
				t.Fatalf("only %d requests passed in %s, fewer than the burst of %d", allowed, took, lim.Burst)
			}
		})
	}
}

func TestBucketsAreIndependentAndRefill(t *testing.T) {
	m, _ := NewMemory(Limit{Rate: 2, Burst: 2})
	now := time.Unix(0, 0)
	m.now = func() time.Time { return now }
	take := func(caller string) Decision {
		d, _ := m.Take(context.Background(), caller)
		return d
	}
	for i := range 2 {
		if !take("a").Allowed {
			t.Fatalf("burst token %d refused", i)
		}
	}
	d := take("a")
	if d.Allowed || d.RetryAfter < 500*time.Millisecond || d.RetryAfter > 502*time.Millisecond {
		t.Fatalf("third token = %+v, want refused with RetryAfter ~500ms", d)
	}
	if !take("b").Allowed {
		t.Fatal("another caller shares the bucket")
	}
	now = now.Add(500 * time.Millisecond)
	if !take("a").Allowed || take("a").Allowed {
		t.Fatal("the bucket did not refill one token in 500ms at 2/s")
	}
	now = now.Add(time.Hour)
	if !take("a").Allowed || len(m.buckets) != 1 {
		t.Fatalf("idle buckets were not swept: %d left", len(m.buckets))
	}
}

func TestRedisRetryAfter(t *testing.T) {
	rc := redisClient(t)
	prefix := "taskrouter-test:" + task.NewID("") + ":"
	t.Cleanup(func() { rc.Del(context.Background(), prefix+"x") })
	r, _ := NewRedis(rc, prefix, Limit{Rate: 1, Burst: 1})
	if d, err := r.Take(context.Background(), "x"); err != nil || !d.Allowed {
		t.Fatalf("first = %+v, %v", d, err)
	}
	d, err := r.Take(context.Background(), "x")
	if err != nil || d.Allowed || d.RetryAfter < 900*time.Millisecond || d.RetryAfter > time.Second {
		t.Fatalf("second = %+v, %v; want refused, RetryAfter ~1s", d, err)
	}
	ttl := rc.PTTL(context.Background(), prefix+"x").Val()
	if ttl <= 0 || ttl > 2*time.Second {
		t.Fatalf("bucket TTL = %s; idle buckets must expire", ttl)
	}
}

func TestInvalidLimit(t *testing.T) {
	if _, err := NewMemory(Limit{Rate: 0, Burst: 1}); err == nil {
		t.Fatal("rate 0 accepted")
	}
	if _, err := NewRedis(nil, "", Limit{Rate: 1}); err == nil {
		t.Fatal("burst 0 accepted")
	}
}
