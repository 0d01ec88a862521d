package registry

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/taskrouter/taskrouter/task"
)

const testRefresh = 50 * time.Millisecond

// testRedisURL is the Redis the tests use: TASKROUTER_TEST_REDIS or the
// local default.
func testRedisURL() string {
	if u := os.Getenv("TASKROUTER_TEST_REDIS"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// testRedisClient connects to the test Redis or fails saying how to start
// one: these tests never skip.
func testRedisClient(t testing.TB) redis.UniversalClient {
	t.Helper()
	url := testRedisURL()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("TASKROUTER_TEST_REDIS=%q: %v", url, err)
	}
	opt.ContextTimeoutEnabled = true
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis at %s is unreachable (%v): start redis-server (or set TASKROUTER_TEST_REDIS to a Redis URL); the Redis registry tests need a real Redis", url, err)
	}
	return c
}

// testKeyPrefix is a prefix no other test uses; its keys are deleted when
// the test ends.
func testKeyPrefix(t testing.TB, c redis.UniversalClient) string {
	prefix := "trtest:" + strings.NewReplacer("/", ".", " ", "_").Replace(t.Name()) + ":" + randomID() + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := c.Del(ctx, newRedisKeys(prefix).all()...).Err(); err != nil {
			t.Errorf("cleaning up %s*: %v", prefix, err)
		}
	})
	return prefix
}

// openTestRedis opens a registry over prefix that the test closes.
func openTestRedis(t testing.TB, c redis.UniversalClient, prefix string, opts ...Option) *Redis {
	t.Helper()
	opts = append([]Option{WithKeyPrefix(prefix), WithRefreshInterval(testRefresh)}, opts...)
	r, err := NewRedis(context.Background(), c, opts...)
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

func newRedisForTest(t *testing.T, opts ...Option) Registry {
	c := testRedisClient(t)
	return openTestRedis(t, c, testKeyPrefix(t, c), opts...)
}

func TestRedisConformance(t *testing.T) {
	t.Parallel()
	runConformance(t, newRedisForTest)
}

// twoRouters are two registries over the same keys, as two router
// processes would have.
func twoRouters(t *testing.T, opts ...Option) (a, b *Redis) {
	c := testRedisClient(t)
	prefix := testKeyPrefix(t, c)
	return openTestRedis(t, c, prefix, opts...), openTestRedis(t, testRedisClient(t), prefix, opts...)
}

func TestRedisSharedCooldown(t *testing.T) {
	t.Parallel()
	var logsB logBuffer
	c := testRedisClient(t)
	prefix := testKeyPrefix(t, c)
	opts := []Option{WithPolicy(PolicyQuality), WithCooldown(3, 10*time.Second, time.Minute)}
	a := openTestRedis(t, c, prefix, opts...)
	b := openTestRedis(t, testRedisClient(t), prefix, append(opts, WithLogger(logsB.logger()))...)
	x, y := model("x", "answer"), model("y", "answer")
	x.Quality = map[string]float64{"answer": 0.9}
	serve(t, a, x, y)
	waitFor(t, 2*time.Second, func() bool { s, err := b.Select(context.Background(), answer); return err == nil && names(s) == "x,y" })

	fail(a, "x", task.CodeUpstream, 0, 3)
	wantOrder(t, a, answer, "y")
	start := time.Now()
	waitFor(t, 2*time.Second, func() bool { return names(mustSelect(t, b, answer)) == "y" })
	t.Logf("router b honoured router a's cooldown after %v", time.Since(start))
	list, err := b.Models(context.Background())
	if err != nil || list[0].State != StateCooldown || time.Until(list[0].CooldownUntil) < 8*time.Second {
		t.Errorf("router b's view of x: %+v, %v; want a cooldown of about 10s", list[0], err)
	}
	// Router b knows why: it refuses x naming the failure a saw, and logs
	// the shared opening once.
	wantRefused(t, b, "x", 10*time.Second, "cooling down", "replica r1", "upstream: it failed")
	wantUnavailable(t, b, Query{Capability: "answer", Hints: task.Hints{Model: "x"}}, 10*time.Second, `"x"`, "upstream: it failed")
	wantLogLines(t, &logsB, 1, "level=WARN", "model circuit open", "model=x", "replica=r1", `reason="upstream: it failed"`, "shared=true")
}

func TestRedisSharedState(t *testing.T) {
	t.Parallel()
	a, b := twoRouters(t)
	ctx := context.Background()
	serve(t, a, model("m", "answer"))
	if err := a.Heartbeat(ctx, Replica{Model: "m", ID: "short"}, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	recordLatency(a, "m", 20*time.Millisecond, 4)
	fail(a, "m", task.CodeBadInput, 0, 2)
	a.Started("m")
	a.Started("m")
	waitFor(t, 2*time.Second, func() bool {
		list, err := b.Models(ctx)
		return err == nil && len(list) == 1 && len(list[0].Replicas) == 2 && list[0].InFlight == 2 &&
			list[0].Errors == 2 && list[0].LatencyEWMAms > 19 && list[0].LatencyEWMAms < 21
	})
	// The short-lived replica expires for b too; a's deregistration reaches b.
	waitFor(t, time.Second, func() bool { l, _ := b.Models(ctx); return len(l[0].Replicas) == 1 })
	if err := a.Deregister(ctx, "m", "r1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Second, func() bool { _, err := b.Select(ctx, answer); return err != nil })
	wantUnavailable(t, b, answer, DefaultHeartbeatTTL, "no live model")
	// Closing a withdraws its in-flight counts.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Second, func() bool { l, _ := b.Models(ctx); return l[0].InFlight == 0 })
}

func TestOpenRedisErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		url  string
		code task.Code
	}{
		{"http://nope", task.CodeInvalidRequest},
		{"redis://127.0.0.1:1/0", task.CodeUnavailable},
	}
	for _, tc := range tests {
		ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		_, err := OpenRedis(ctx, tc.url)
		cancel()
		if te := task.AsError(err); te == nil || te.Code != tc.code {
			t.Errorf("OpenRedis(%q) error = %v, want code %s", tc.url, err, tc.code)
		}
	}
	c := testRedisClient(t)
	if _, err := NewRedis(ctx, c, WithPolicy("fastest")); err == nil {
		t.Error("NewRedis with an unknown policy: no error")
	}
	deaf := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer deaf.Close()
	if _, err := NewRedis(ctx, deaf); task.AsError(err).Code != task.CodeInvalidRequest {
		t.Errorf("NewRedis with a client that ignores context deadlines: %v", err)
	}
}
