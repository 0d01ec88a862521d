package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestRedisOutageKeepsRoutingAndLimits: with the registry's and the rate
// limiter's Redis hanging (SIGSTOP: connections open, nothing answers),
// GET /v1/models and a chat naming a model still answer from the last
// snapshot, and a rate limit of burst 10 still lets about 10 through.
// The go-redis timeouts are a minute, far beyond the client's timeout
// below, so any request that waited on Redis fails instead of passing
// slowly. When Redis answers again, the limiter uses it again.
func TestRedisOutageKeepsRoutingAndLimits(t *testing.T) {
	port := freePort(t)
	rs := startRedis(t, port)
	cfg := DefaultConfig()
	cfg.Redis.URL = fmt.Sprintf("redis://127.0.0.1:%d/0?dial_timeout=60s&read_timeout=60s&write_timeout=60s", port)
	const burst = 10
	cfg.HTTP.RateLimit = RateLimitConfig{RequestsPerSecond: 0.5, Burst: burst}
	_, base := startServing(t, cfg, map[string]string{envAPIKeys: "routing,burst,after"})
	client := &http.Client{Timeout: 20 * time.Second}
	get := func(key, method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s during the Redis outage: %v", method, path, err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(data)
	}
	if code, body := get("routing", "GET", "/v1/models", ""); code != 200 || !strings.Contains(body, "local/summarize") {
		t.Fatalf("before the outage: %d %s", code, body)
	}

	rs.signal(t, syscall.SIGSTOP)
	t.Cleanup(func() { _ = rs.cmd.Process.Signal(syscall.SIGCONT) })
	// The list is cached for two seconds; then it says it is a snapshot.
	waitFor(t, 15*time.Second, "list marked as a snapshot", func() bool {
		code, body := get("routing", "GET", "/v1/models", "")
		if code != 200 || !strings.Contains(body, "local/summarize") {
			t.Fatalf("GET /v1/models during the outage: %d %s", code, body)
		}
		time.Sleep(500 * time.Millisecond) // spares the key's tokens
		return strings.Contains(body, `"snapshot_as_of"`)
	})
	chat := `{"model":"local/summarize","messages":[{"role":"user","content":"` + sample + `"}]}`
	if code, body := get("routing", "POST", "/v1/chat/completions", chat); code != 200 || !strings.Contains(body, "chat.completion") {
		t.Errorf("chat naming a model during the outage: %d %s", code, body)
	}
	passed := 0
	for range 100 {
		if code, body := get("burst", "GET", "/v1/models", ""); code == 200 {
			passed++
		} else if code != http.StatusTooManyRequests {
			t.Fatalf("rate-limited GET /v1/models: %d %s", code, body)
		}
	}
	// 100 requests take well under 10 s, which refills at most 5 tokens.
	if passed < burst || passed > burst+5 {
		t.Errorf("%d of 100 requests passed a limit of burst %d at 0.5/s during the outage", passed, burst)
	}

	rs.signal(t, syscall.SIGCONT)
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
	defer rdb.Close()
	d := sha256.Sum256([]byte("after"))
	bucket := rateLimitKeyPrefix + "key:" + hex.EncodeToString(d[:8])
	waitFor(t, 15*time.Second, "rate-limit bucket in Redis once it answers again", func() bool {
		_, _ = get("after", "GET", "/v1/models", "")
		return rdb.Exists(context.Background(), bucket).Val() == 1
	})
}
