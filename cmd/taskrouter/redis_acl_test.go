package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/task"
)

// redisACL is the rule of the ACL user the README shows for taskrouter:
// its keys (the registry's tr:*, the rate limits' taskrouter:ratelimit:*),
// scripts, and no dangerous command.
const redisACL = "resetkeys ~tr:* ~taskrouter:ratelimit:* resetchannels +@all -@dangerous"

// An ACL user restricted to taskrouter's keys, its password from
// redis.password_env, runs the registry as a router and an executor do;
// it cannot touch other keys.
func TestRedisACLUserWithTaskrouterKeysOnly(t *testing.T) {
	dbURL := redisDB(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	admin := redis.NewClient(&redis.Options{Addr: u.Host})
	defer admin.Close()
	user, password := fmt.Sprintf("taskrouter-test-%d", time.Now().UnixNano()), "pw-"+task.NewID("")
	rule := []any{"ACL", "SETUSER", user, "on", ">" + password}
	for _, r := range strings.Fields(redisACL) {
		rule = append(rule, r)
	}
	if err := admin.Do(ctx, rule...).Err(); err != nil {
		t.Fatalf("creating the ACL user: %v", err)
	}
	t.Cleanup(func() { _ = admin.Do(context.Background(), "ACL", "DELUSER", user).Err() })

	u.User = url.User(user)
	cfg := DefaultConfig()
	cfg.Redis = RedisConfig{URL: u.String(), PasswordEnv: "TR_TEST_REDIS_PASSWORD", TLS: TLSConfig{Verify: true}}
	a := &app{cfg: cfg, log: slog.New(slog.DiscardHandler), getenv: func(k string) string {
		return map[string]string{"TR_TEST_REDIS_PASSWORD": password}[k]
	}}
	reg, err := a.openRegistry(ctx)
	if err != nil {
		t.Fatalf("opening the registry as %s: %v", user, err)
	}
	defer reg.Close()
	spec := task.ModelSpec{Name: "acl-model", Backend: task.BackendLocal, Capabilities: []string{"calc"}}
	if err := reg.Announce(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if err := reg.Heartbeat(ctx, registry.Replica{Model: spec.Name, ID: "r1", Capacity: 1}, time.Minute); err != nil {
		t.Fatal(err)
	}
	reg.Started(spec.Name)
	reg.Finished(ctx, spec.Name, registry.Outcome{OK: true, Latency: time.Millisecond})
	if s, err := reg.Select(ctx, registry.Query{Capability: "calc"}); err != nil || s.Model.Name != spec.Name {
		t.Fatalf("selecting: %+v %v", s, err)
	}
	ro, err := redisOptions(cfg.Redis, a.getenv)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(ro)
	defer c.Close()
	if err := c.Set(ctx, "not-taskrouter", "x", time.Minute).Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
		t.Fatalf("the ACL user wrote outside its keys: %v", err)
	}
	if err := c.Set(ctx, "taskrouter:ratelimit:probe", "x", time.Minute).Err(); err != nil {
		t.Fatalf("the rate limits' keys: %v", err)
	}
	// Without the password the user is refused, and says so at start.
	a.getenv = func(string) string { return "" }
	if _, err := a.openRegistry(ctx); err == nil || !strings.Contains(err.Error(), "TR_TEST_REDIS_PASSWORD is empty or unset") {
		t.Fatalf("an unset password: %v", err)
	}
}
