package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/bus/authtest"
	"github.com/taskrouter/taskrouter/task"
)

// The nats and redis sections' mistakes are config errors that say what to set.
func TestNATSConfigErrors(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{"nats:\n  listen: 0.0.0.0:4222\n", "nats.allow_anonymous: true"},
		{"nats:\n  listen: 127.0.0.1:4222\n  users:\n    - {name: a, password_env: A, role: boss}\n", "nats.users[0] (a): role \"boss\""},
		{"nats:\n  users:\n    - {name: e, password_env: E, role: executor}\n", "an executor needs models"},
		{"nats:\n  users:\n    - {name: p, password_env: P, role: producer, models: [local/calc]}\n", "models apply to executors only"},
		{"nats:\n  users:\n    - {name: p, role: producer}\n", "give either password_env or nkey"},
		{"nats:\n  users:\n    - {name: p, nkey: UABC, role: producer}\n", "not a user's public nkey"},
		{"nats:\n  users:\n    - {name: a.b, password_env: P, role: producer}\n", "inbox prefix"},
		{"nats:\n  users:\n    - {name: p, password_env: \"not a var\", role: producer}\n", "not an environment variable name"},
		{"nats:\n  users:\n    - {name: p, password_env: P, role: producer}\n    - {name: p, password_env: Q, role: observer}\n", "used twice"},
		{"nats:\n  token_env: T\n  users:\n    - {name: p, password_env: P, role: producer}\n", "exclude each other"},
		{"nats:\n  listen: 127.0.0.1:4222\n  allow_anonymous: true\n  token_env: T\n", "drop one"},
		{"nats:\n  user: router-1\n  password_env: P\n", "set nats.url"},
		{"nats:\n  url: nats://127.0.0.1:4222\n  user: router-1\n", "nats.user and nats.password_env go together"},
		{"nats:\n  url: nats://127.0.0.1:4222\n  user: r\n  password_env: P\n  creds_file: x.creds\n", "different logins"},
		{"nats:\n  url: nats://127.0.0.1:4222\n  allow_anonymous: true\n", "configure the embedded server"},
		{"nats:\n  tls:\n    cert_file: c.pem\n    key_file: k.pem\n", "set nats.listen"},
		{"nats:\n  listen: 127.0.0.1:4222\n  tls:\n    ca_file: ca.pem\n", "set cert_file and key_file"},
		{"nats:\n  url: nats://127.0.0.1:4222\n  inbox_prefix: \"_INBOX.>\"\n", "nats.inbox_prefix"},
		{"nats:\n  url: nats://127.0.0.1:4222\n  replicas: 7\n", "nats.replicas: 7 must be 1 to 5"},
		{"nats:\n  replicas: 3\n", "needs a NATS cluster (nats.url)"},
		{"nats:\n  durable:\n    ack_wait: 100ms\n", "nats.durable.ack_wait: 100ms must be at least 1s"},
		{"nats:\n  durable:\n    max_deliver: 0\n", "nats.durable.max_deliver"},
		{"nats:\n  durable:\n    results_ttl: 10s\n", "nats.durable.results_ttl"},
		{"nats:\n  durable:\n    dedupe_window: 0s\n", "nats.durable.dedupe_window"},
		{"redis:\n  url: redis://127.0.0.1:6379/0\n  tls:\n    ca_file: ca.pem\n", "use rediss://"},
		{"redis:\n  password_env: P\n", "redis.url, which is empty"},
	}
	for _, c := range cases {
		cfg := DefaultConfig()
		err := decodeConfig([]byte(c.yaml), &cfg)
		if err == nil {
			err = cfg.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("config %q: %v, want an error saying %q", c.yaml, err, c.want)
		}
	}
}

// serve with nats.listen and users: other processes must log in, and a
// producer gets answers in its own inbox.
func TestServeEmbeddedServerWithUsers(t *testing.T) {
	env := map[string]string{}
	for _, kv := range authtest.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	yaml := "nats:\n  listen: 127.0.0.1:0\n" + usersYAML() + "http:\n  addr: \"\"\n"
	a := startServeConfig(t, yaml, func(k string) string { return env[k] })
	tg := authtest.Target{URL: a.bus.ClientURL()}
	if _, err := nats.Connect(tg.URL, nats.MaxReconnects(0)); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("an anonymous client: %v", err)
	}
	resp := request(t, tg.As(t, "prod-1"), task.Request{Input: "What is 6 * 7?"})
	if resp.Error != nil || !strings.Contains(resp.Answer, "42") {
		t.Fatalf("a producer's request: %+v", resp)
	}
	// A missing password is said at start, naming its variable.
	_, err := startInProcess(t, yaml, func(string) string { return "" })
	if !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), "AUTHTEST_ROUTER_1 is empty or unset") {
		t.Fatalf("an unset password: %v", err)
	}
}

// nats.token_env with nats.listen used to leave the embedded server open:
// a client without the token got answers.
func TestServeTokenProtectsTheEmbeddedServer(t *testing.T) {
	a := startServeConfig(t, "nats:\n  listen: 127.0.0.1:0\n  token_env: TR_TEST_TOKEN\nhttp:\n  addr: \"\"\n",
		func(k string) string { return map[string]string{"TR_TEST_TOKEN": "s3cret"}[k] })
	if _, err := nats.Connect(a.bus.ClientURL(), nats.MaxReconnects(0)); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("a client without the token: %v", err)
	}
	nc, err := nats.Connect(a.bus.ClientURL(), nats.Token("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if resp := request(t, nc, task.Request{Input: "What is 6 * 7?"}); !strings.Contains(resp.Answer, "42") {
		t.Fatalf("with the token: %+v", resp)
	}
	_, err = startInProcess(t, "nats:\n  listen: 127.0.0.1:0\n  token_env: TR_TEST_TOKEN\n", func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "TR_TEST_TOKEN is empty or unset") {
		t.Fatalf("an unset token: %v", err)
	}
}

// startInProcess starts what serve starts, in this process, from a config's text, serving tr.v1.req.
func startInProcess(t *testing.T, yaml string, getenv func(string) string) (*app, error) {
	t.Helper()
	cfg := DefaultConfig()
	if err := decodeConfig([]byte(yaml), &cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cat, err := buildCatalog(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	env := &cliEnv{stderr: &strings.Builder{}, getenv: getenv}
	gen := &lateGenerator{}
	pl, err := buildPlanner(cfg, cat, "", gen)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := startApp(ctx, env, cfg, cat, pl, gen, appParts{router: true, executors: true})
	if err != nil {
		return nil, err
	}
	t.Cleanup(a.close)
	stop, err := a.router.Serve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return a, nil
}

func startServeConfig(t *testing.T, yaml string, getenv func(string) string) *app {
	t.Helper()
	a, err := startInProcess(t, yaml, getenv)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
