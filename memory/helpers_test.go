package memory

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/task"
)

// testRedis connects to the test Redis (TASKROUTER_TEST_REDIS or
// 127.0.0.1:6379) or fails saying how to start one.
func testRedis(t testing.TB) *redis.Client {
	t.Helper()
	url := os.Getenv("TASKROUTER_TEST_REDIS")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("Redis at %s: %v (start one with scripts/ensure-redis, or set TASKROUTER_TEST_REDIS)", url, err)
	}
	return c
}

// buckets returns a fresh bucket of each backend: Redis under a key
// prefix of the test's own, and a NATS key-value bucket on an embedded
// server.
func buckets(t testing.TB, ttl time.Duration) map[string]Bucket {
	t.Helper()
	c := testRedis(t)
	prefix := "tr:test:mem:" + task.NewID("") + ":"
	t.Cleanup(func() {
		keys, _ := c.Keys(context.Background(), prefix+"*").Result()
		if len(keys) > 0 {
			c.Del(context.Background(), keys...)
		}
	})
	b, err := bus.Start(context.Background(), bus.Config{Name: "memory-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	nc, err := b.Connect("memory")
	if err != nil {
		t.Fatal(err)
	}
	nb, err := OpenNATSBucket(context.Background(), nc, "test_memory", ttl, 1)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]Bucket{"redis": NewRedisBucket(c, prefix, ttl), "nats": nb}
}

// liveKeys lists the keys a bucket holds, for checking what a deletion
// left.
func liveKeys(t *testing.T, b Bucket) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	switch b := b.(type) {
	case *RedisBucket:
		keys, err := b.client.Keys(ctx, b.prefix+"*").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			out = append(out, k[len(b.prefix):])
		}
	case *NATSBucket:
		keys, err := b.kv.Keys(ctx)
		if err != nil && err.Error() != "nats: no keys found" {
			t.Fatal(err)
		}
		out = keys
	}
	slices.Sort(out)
	return out
}
