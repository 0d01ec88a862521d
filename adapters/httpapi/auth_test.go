package httpapi_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/taskrouter/taskrouter/adapters/httpapi"
	"github.com/taskrouter/taskrouter/adapters/httpapi/ratelimit"
	"github.com/taskrouter/taskrouter/task"
)

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestAPIKeys(t *testing.T) {
	const good, other = "sk-good-0123456789", "sk-other-9876543210"
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := newEnv(t, envOptions{cfg: httpapi.Config{APIKeys: []string{good, " " + other + " "}, Logger: log}})
	body := chatBody("gpt-test", false, "user", "hi")
	wantError(t, e.do("POST", "/v1/chat/completions", "", body), 401, "missing_api_key")
	bad := wantError(t, e.do("POST", "/v1/chat/completions", "sk-wrong-key", body), 401, "invalid_api_key")
	if strings.Contains(bad.Error.Message, "sk-wrong") {
		t.Fatalf("the error repeats the presented key: %q", bad.Error.Message)
	}
	decode[completionObject](t, e.do("POST", "/v1/chat/completions", good, body), 200)
	decode[completionObject](t, e.do("POST", "/v1/chat/completions", other, body), 200)
	for _, path := range []string{"/v1/models", "/v1/jobs/job_x", "/v1/jobs/job_x/events"} {
		wantError(t, e.do("GET", path, "", nil), 401, "missing_api_key")
	}
	decode[map[string]string](t, e.do("GET", "/healthz", "", nil), 200)
	for _, k := range []string{good, other, "sk-wrong"} {
		if strings.Contains(logs.String(), k) {
			t.Fatalf("a key reached the logs")
		}
	}
}

// The auth scheme is case-insensitive (RFC 9110, 11.1) and may be followed
// by more than one space; a key of the same owner is the same owner.
func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	const key = "sk-case-0123456789"
	e := newEnv(t, envOptions{cfg: httpapi.Config{APIKeys: []string{key}}})
	for _, h := range []string{"bearer " + key, "BEARER " + key, "Bearer   " + key, "bEaReR\t" + key} {
		req, _ := http.NewRequest("GET", e.url+"/v1/models", nil)
		req.Header.Set("Authorization", h)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("Authorization: %q got %d", strings.Replace(h, key, "KEY", 1), resp.StatusCode)
		}
	}
	for _, h := range []string{"Basic " + key, "Bearer", "Bearer ", "Bearer" + key, key} {
		req, _ := http.NewRequest("GET", e.url+"/v1/models", nil)
		req.Header.Set("Authorization", h)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("Authorization: %q got %d, want 401", strings.Replace(h, key, "KEY", 1), resp.StatusCode)
		}
	}
}

// Jobs belong to the key that created them.
func TestJobsBelongToTheirKey(t *testing.T) {
	e := newEnv(t, envOptions{cfg: httpapi.Config{APIKeys: []string{"key-a", "key-b"}}})
	j := decode[jobView](t, e.do("POST", "/v1/jobs", "key-a", map[string]any{"input": "x", "model": "gpt-test"}), 202)
	decode[jobView](t, e.do("GET", "/v1/jobs/"+j.ID, "key-a", nil), 200)
	wantError(t, e.do("GET", "/v1/jobs/"+j.ID, "key-b", nil), 404, "job_not_found")
	wantError(t, e.do("DELETE", "/v1/jobs/"+j.ID, "key-b", nil), 404, "job_not_found")
	if strings.Contains(readAll(e.do("GET", "/v1/jobs/"+j.ID, "key-a", nil)), "owner") {
		t.Fatal("the job shows its owner")
	}
}

func testRedis(t *testing.T) *redis.Client {
	t.Helper()
	addr := "127.0.0.1:6379"
	if v := envOr("TASKROUTER_TEST_REDIS"); v != "" {
		addr = v
	}
	c := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 64})
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("Redis at %s: %v (start one with scripts/ensure-redis, or set TASKROUTER_TEST_REDIS)", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Two routers share one Redis limit per key; hammered concurrently over
// both, the key never gets more than the bucket allows, and the others'
// refusals say when to retry.
func TestRateLimitSharedInRedisNeverExceeded(t *testing.T) {
	rc := testRedis(t)
	prefix := "taskrouter-test:" + task.NewID("") + ":"
	lim := ratelimit.Limit{Rate: 20, Burst: 5}
	newLimiter := func() ratelimit.Limiter {
		l, err := ratelimit.NewRedis(rc, prefix, lim)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	a := newEnv(t, envOptions{cfg: httpapi.Config{APIKeys: []string{"k1", "k2"}, Limiter: newLimiter()}})
	b := newEnv(t, envOptions{cfg: httpapi.Config{APIKeys: []string{"k1", "k2"}, Limiter: newLimiter()}, bus: a.bus})
	var ok, limited atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	stop := start.Add(700 * time.Millisecond)
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv := []*env{a, b}[w%2]
			for time.Now().Before(stop) {
				req, _ := http.NewRequest("GET", srv.url+"/v1/models", nil)
				req.Header.Set("Authorization", "Bearer k1")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				switch resp.StatusCode {
				case 200:
					ok.Add(1)
				case 429:
					if s, _ := strconv.Atoi(resp.Header.Get("Retry-After")); s < 1 {
						t.Error("429 without Retry-After")
					}
					limited.Add(1)
				default:
					t.Errorf("status %d", resp.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
	bound := float64(lim.Burst) + lim.Rate*time.Since(start).Seconds()
	if float64(ok.Load()) > bound || limited.Load() == 0 {
		t.Fatalf("%d requests passed (bound %.1f), %d limited", ok.Load(), bound, limited.Load())
	}
	if float64(ok.Load()) < 0.7*bound {
		t.Fatalf("only %d requests passed of the %.1f allowed", ok.Load(), bound)
	}
	// Another key has its own bucket.
	decode[map[string]any](t, a.do("GET", "/v1/models", "k2", nil), 200)
}
