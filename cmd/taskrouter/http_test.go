package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/taskrouter/taskrouter/adapters/httpapi/webhook"
	"github.com/taskrouter/taskrouter/task"
	"github.com/taskrouter/taskrouter/telemetry"
)

const testHookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// startServing starts what `serve` starts, HTTP included, on the embedded
// default with the given environment.
func startServing(t *testing.T, cfg Config, vars map[string]string) (*app, string) {
	t.Helper()
	return startServingLogged(t, cfg, vars, io.Discard)
}

// startServingLogged is startServing with the process's logs written to
// stderr.
func startServingLogged(t *testing.T, cfg Config, vars map[string]string, stderr io.Writer) (*app, string) {
	t.Helper()
	cfg.HTTP.Addr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	env := &cliEnv{stdin: strings.NewReader(""), stdout: io.Discard, stderr: stderr, getenv: func(k string) string { return vars[k] }}
	cat := task.BuiltinCatalog()
	gen := &lateGenerator{}
	pl, err := buildPlanner(cfg, cat, "", gen)
	if err != nil {
		t.Fatal(err)
	}
	a, err := startApp(context.Background(), env, cfg, cat, pl, gen, appParts{router: true, executors: true,
		metrics: cfg.Metrics.Enabled, service: telemetry.ServiceRouter, console: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.close)
	stopJobs, err := a.startJobs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	stop, err := a.startHTTP(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := stop(ctx); err != nil {
			t.Errorf("stopping HTTP: %v", err)
		}
		if err := stopJobs(ctx); err != nil {
			t.Errorf("stopping jobs: %v", err)
		}
	})
	return a, "http://" + cfg.HTTP.Addr
}

func call(t *testing.T, method, url, key string, body string, h http.Header) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader([]byte(body)))
	for k, v := range h {
		req.Header[k] = v
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, data)
	}
	return resp.StatusCode, out
}

func TestServeHTTPEndToEnd(t *testing.T) {
	a, base := startServing(t, DefaultConfig(), map[string]string{
		envAPIKeys: "k1, k2", envWebhookSecret: testHookSecret,
	})
	chat := `{"model":"local/summarize","messages":[{"role":"user","content":"` + sample + `"}]}`
	if code, _ := call(t, "POST", base+"/v1/chat/completions", "", chat, nil); code != 401 {
		t.Fatalf("no key: %d", code)
	}
	code, c := call(t, "POST", base+"/v1/chat/completions", "k2", chat, nil)
	choices, _ := c["choices"].([]any)
	if code != 200 || c["object"] != "chat.completion" || len(choices) != 1 {
		t.Fatalf("chat: %d %v", code, c)
	}
	code, j := call(t, "POST", base+"/v1/jobs", "k1", `{"input":"Summarize this text and detect its language: '`+sample+`'"}`, nil)
	if code != 202 {
		t.Fatalf("job: %d %v", code, j)
	}
	id := j["id"].(string)
	for deadline := time.Now().Add(10 * time.Second); j["status"] != "done" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		_, j = call(t, "GET", base+"/v1/jobs/"+id, "k1", "", nil)
	}
	if j["status"] != "done" || !strings.Contains(j["answer"].(string), "##") {
		t.Fatalf("job = %v", j)
	}
	// The job is in the JetStream bucket, where every router sees it.
	nc, err := a.bus.Connect("check")
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	bucket, err := js.KeyValue(context.Background(), jobsBucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bucket.Get(context.Background(), id); err != nil {
		t.Fatalf("job %s not in bucket %s: %v", id, jobsBucket, err)
	}
	// The default webhook takes its secret from TASKROUTER_WEBHOOK_SECRET
	// and needs no API key.
	secret, _ := webhook.ParseSecret(testHookSecret)
	body := `{"input":"Detect the language: 'Bonjour tout le monde'"}`
	h := http.Header{}
	secret.SetHeaders(h, "msg_e2e", time.Now(), []byte(body))
	if code, r := call(t, "POST", base+"/v1/webhooks/default", "", body, h); code != 202 || !strings.HasPrefix(r["id"].(string), "job_") {
		t.Fatalf("webhook: %d %v", code, r)
	}
	if code, _ := call(t, "GET", base+"/healthz", "", "", nil); code != 200 {
		t.Fatalf("healthz: %d", code)
	}
}

func TestHTTPConfigErrors(t *testing.T) {
	cases := []struct {
		mutate func(*Config)
		want   string
	}{
		{func(c *Config) { c.HTTP.Jobs.Store = "disk" }, "http.jobs.store"},
		{func(c *Config) { c.HTTP.Jobs.TTL = time.Minute }, "http.jobs.ttl"},
		{func(c *Config) { c.HTTP.RateLimit.RequestsPerSecond = 5 }, "http.rate_limit"},
		{func(c *Config) { c.HTTP.WriteTimeout = 0 }, "http.write_timeout"},
		{func(c *Config) { c.HTTP.Callbacks.MaxAttempts = 0 }, "http.callbacks.max_attempts"},
		{func(c *Config) { c.Webhooks = []WebhookConfig{{Name: "gh"}} }, "secret_env"},
		{func(c *Config) { c.Webhooks = []WebhookConfig{{Name: "a/b", SecretEnv: "X"}} }, "name"},
		{func(c *Config) {
			c.Webhooks = []WebhookConfig{{Name: "a", SecretEnv: "X"}, {Name: "a", SecretEnv: "X"}}
		}, "used twice"},
		{func(c *Config) { c.Webhooks = []WebhookConfig{{Name: "a", SecretEnv: "X", CallbackURL: "file:///x"}} }, "callback_url"},
		{func(c *Config) { c.HTTP.Callbacks.AllowCIDRs = []string{"10.0.0.0/8", "nope"} }, "http.callbacks.allow_cidrs[1]: \"nope\" is not a CIDR range"},
		{func(c *Config) { c.HTTP.Callbacks.AllowCIDRs = []string{"10.1.2.3"} }, "10.1.2.3/32"},
		{func(c *Config) { c.HTTP.Callbacks.AllowCIDRs = []string{"10.0.0.1/8"} }, "write 10.0.0.0/8"},
		{func(c *Config) { c.HTTP.Callbacks.AllowCIDRs = []string{"::ffff:10.0.0.0/104"} }, "IPv4-mapped"},
		{func(c *Config) { c.HTTP.Callbacks.AllowCIDRs = []string{"0.0.0.0/0"} }, "allow_private: true"},
		{func(c *Config) {
			c.HTTP.Callbacks.AllowPrivate, c.HTTP.Callbacks.AllowCIDRs = true, []string{"10.0.0.0/8"}
		}, "drop allow_cidrs"},
		{func(c *Config) {
			c.Webhooks = []WebhookConfig{{Name: "a", SecretEnv: "X", CallbackURL: "http://169.254.169.254/cb"}}
		}, "webhooks[0] (a): callback_url points at 169.254.169.254, a link-local"},
		{func(c *Config) {
			c.HTTP.Callbacks.AllowCIDRs = []string{"127.0.0.0/8"}
			c.Webhooks = []WebhookConfig{{Name: "a", SecretEnv: "X", CallbackURL: "http://10.1.2.3/cb"}}
		}, "http.callbacks.allow_cidrs"},
		{func(c *Config) {
			c.Webhooks = []WebhookConfig{{Name: "a", SecretEnv: "X", CallbackURL: "https://u:p@x.test/cb"}}
		}, "credentials"},
		{func(c *Config) { c.HTTP.CORS.AllowedOrigins = []string{"https://ok.test", "https://chat.test/"} }, `http.cors.allowed_origins[1]: "https://chat.test/" ends with a slash, which browsers never send; write "https://chat.test"`},
		{func(c *Config) { c.HTTP.CORS.AllowedOrigins = []string{"chat.test"} }, `http.cors.allowed_origins[0]: "chat.test" is not an origin; write scheme://host[:port]`},
		{func(c *Config) { c.HTTP.CORS.AllowedOrigins = []string{"https://chat.test/app"} }, "has a path"},
		{func(c *Config) { c.HTTP.CORS.AllowedOrigins = []string{"https://*chat.test"} }, "http.cors.allowed_origins[0]: \"https://*chat.test\": a wildcard may stand only for subdomains"},
		{func(c *Config) { c.HTTP.CORS.AllowedOrigins = []string{"*", "https://chat.test"} }, `"*" already allows every origin; list it alone`},
		{func(c *Config) { c.HTTP.CORS.MaxAge = 1500 * time.Millisecond }, "http.cors.max_age: 1.5s must be whole seconds"},
		{func(c *Config) { c.HTTP.CORS.MaxAge = 0 }, "http.cors.max_age"},
		{func(c *Config) { c.HTTP.CORS.MaxAge = 48 * time.Hour }, "http.cors.max_age"},
	}
	for _, c := range cases {
		cfg := DefaultConfig()
		c.mutate(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v does not mention %q", err, c.want)
		}
	}
}

// Secrets that cannot verify anything stop the start with a clear error.
func TestHTTPSecretsChecked(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Webhooks = []WebhookConfig{{Name: "gh", SecretEnv: "GH_SECRET"}}
	a := &app{cfg: cfg, getenv: func(k string) string { return map[string]string{"GH_SECRET": "whsec_short"}[k] }}
	if _, err := a.webhookHooks(); err == nil || !strings.Contains(err.Error(), "GH_SECRET") {
		t.Fatalf("a bad webhook secret gave %v", err)
	}
	cfg.Webhooks = []WebhookConfig{{Name: "gh", SecretEnv: "GH_SECRET", CallbackURL: "https://x.test/cb"}}
	a = &app{cfg: cfg, getenv: func(k string) string { return "" }}
	if _, err := a.callbackConfig(); err == nil || !strings.Contains(err.Error(), envCallbackSecret) {
		t.Fatalf("a callback without a signing secret gave %v", err)
	}
	a = &app{cfg: DefaultConfig(), getenv: func(k string) string { return map[string]string{envAPIKeys: " a, ,b "}[k] }}
	if keys := a.apiKeys(); strings.Join(keys, "|") != "a|b" {
		t.Fatalf("keys = %q", keys)
	}
}

// http.callbacks lets callbacks reach the ranges it allows, from the file
// to the delivery config, and nothing else that is not public.
func TestCallbackAllowedRanges(t *testing.T) {
	cfg := DefaultConfig()
	yaml := "http:\n  callbacks:\n    allow_cidrs: [10.0.0.0/8, \"fd00::/8\"]\nwebhooks:\n  - {name: gh, secret_env: GH, callback_url: \"http://10.1.2.3:9000/cb\"}\n"
	if err := decodeConfig([]byte(yaml), &cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a := &app{cfg: cfg, getenv: func(k string) string { return map[string]string{envCallbackSecret: testHookSecret}[k] }}
	cb, err := a.callbackConfig()
	if err != nil || cb.Secret.IsZero() || cb.MaxAttempts != 8 {
		t.Fatalf("callback config %+v, %v", cb, err)
	}
	for url, ok := range map[string]bool{"http://10.1.2.3/cb": true, "http://[fd00::1]/cb": true, "https://x.test/cb": true,
		"http://192.168.1.1/cb": false, "http://127.0.0.1/cb": false, "http://[fe80::1]/cb": false} {
		if err := cb.CheckURL(url); (err == nil) != ok {
			t.Errorf("%s: %v", url, err)
		}
	}
	a.cfg.HTTP.Callbacks.AllowCIDRs, a.cfg.HTTP.Callbacks.AllowPrivate = nil, true
	if cb, _ = a.callbackConfig(); cb.CheckURL("http://169.254.169.254/cb") != nil {
		t.Error("allow_private does not allow a link-local address")
	}
}

// http.cors goes from the file to the server: a browser's preflight from
// an allowed origin is answered before the API key check.
func TestHTTPCORSFromConfig(t *testing.T) {
	cfg := DefaultConfig()
	yaml := "http:\n  cors:\n    allowed_origins: [\"https://chat.test\", \"https://*.corp.test\", \"http://localhost:*\", \"http://[::1]:3000\"]\n    max_age: 2m\n"
	if err := decodeConfig([]byte(yaml), &cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(cfg.HTTP.CORS.AllowedOrigins) != 4 || cfg.HTTP.CORS.MaxAge != 2*time.Minute {
		t.Fatalf("cors = %+v", cfg.HTTP.CORS)
	}
	if DefaultConfig().HTTP.CORS.MaxAge != 10*time.Minute || len(DefaultConfig().HTTP.CORS.AllowedOrigins) != 0 {
		t.Fatalf("default cors = %+v", DefaultConfig().HTTP.CORS)
	}
	_, base := startServing(t, cfg, map[string]string{envAPIKeys: "k1"})
	for origin, allowed := range map[string]bool{"https://team.corp.test": true, "https://evil.test": false} {
		req, _ := http.NewRequest(http.MethodOptions, base+"/v1/chat/completions", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get("Access-Control-Allow-Origin")
		if resp.StatusCode != http.StatusNoContent || (got == origin) != allowed || (got == "") == allowed {
			t.Errorf("preflight from %s: %d %v", origin, resp.StatusCode, resp.Header)
		} else if allowed && resp.Header.Get("Access-Control-Max-Age") != "120" {
			t.Errorf("max age: %v", resp.Header)
		}
	}
}
