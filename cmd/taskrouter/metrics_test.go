package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/task"
)

// Secrets of the observed deployment: API keys, the upstream's key, the
// webhook secret. None may reach a log line.
const (
	opsKey         = "sk-ops-6b1f0c29d4e8a7"
	batchKey       = "sk-batch-93e2d5a1c7f4b8"
	upstreamSecret = "sk-upstream-4c8e1a9f2b7d63"
)

// observedServe starts serve with named API keys, a rate limit of 4
// requests per key, an OpenAI-compatible upstream model with prices, JSON
// logs at debug, and metrics on.
func observedServe(t *testing.T) (base string, logs *syncBuffer, up *openaitest.Server) {
	t.Helper()
	up = openaitest.New(openaitest.WithAPIKey(upstreamSecret))
	t.Cleanup(up.Close)
	up.Script("gpt-test", openaitest.Behaviour{Reply: "Paris is the capital of France."})
	cfg := DefaultConfig()
	cfg.Log = LogConfig{Level: "debug", Format: "json"}
	cfg.HTTP.RateLimit = RateLimitConfig{RequestsPerSecond: 0.001, Burst: 4}
	cfg.Models = []task.ModelSpec{{Name: "gpt-test", Backend: task.BackendOpenAI, BaseURL: up.URL(), APIKeyEnv: "UPSTREAM_KEY",
		Capabilities: []string{"chat"}, Price: task.Price{InputPerMTok: 2, OutputPerMTok: 8}}}
	logs = &syncBuffer{}
	_, base = startServingLogged(t, cfg, map[string]string{envAPIKeys: "ops:" + opsKey + ",batch:" + batchKey,
		envWebhookSecret: testHookSecret, "UPSTREAM_KEY": upstreamSecret}, logs)
	return base, logs, up
}

// scrape reads GET /metrics as Prometheus does, with a bearer token.
func scrape(t *testing.T, base, key string) (string, map[string]*dto.MetricFamily) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, data)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return string(data), families
}

// value is the value of the series of a family with exactly these labels;
// NaN when there is none. Histograms give their count.
func value(families map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := families[name]
	if f == nil {
		return math.NaN()
	}
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if len(got) != len(labels)/2 {
			continue
		}
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			match = match && got[labels[i]] == labels[i+1]
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return math.NaN()
}

// The metrics after known traffic through the real HTTP API hold the
// values that traffic implies, and pass promtool's checks.
func TestMetricsAfterKnownTraffic(t *testing.T) {
	base, _, _ := observedServe(t)
	if code, _ := call(t, "GET", base+"/metrics", "", "", nil); code != 401 {
		t.Fatalf("GET /metrics without a key: %d, want 401", code)
	}
	chat := func(model, text string) (int, map[string]any) {
		return call(t, "POST", base+"/v1/chat/completions", opsKey, `{"model":"`+model+`","messages":[{"role":"user","content":"`+text+`"}]}`, nil)
	}
	for _, q := range []string{"What is 6 * 7?", "What is 2 + 2?"} {
		if code, r := chat("local/calc", q); code != 200 {
			t.Fatalf("calc: %d %v", code, r)
		}
	}
	if code, r := chat("taskrouter", "Summarize this text: '"+sample+"'"); code != 200 {
		t.Fatalf("taskrouter: %d %v", code, r)
	}
	code, r := chat("gpt-test", "What is the capital of France?")
	if code != 200 {
		t.Fatalf("gpt-test: %d %v", code, r)
	}
	usage := r["usage"].(map[string]any)
	prompt, completion := usage["prompt_tokens"].(float64), usage["completion_tokens"].(float64)
	if code, _ := chat("local/calc", "What is 1 + 1?"); code != 429 {
		t.Fatalf("the fifth request of a key with a burst of 4: %d, want 429", code)
	}
	if code, j := call(t, "POST", base+"/v1/jobs", batchKey, `{"input":"What is 3 * 3?"}`, nil); code != 202 {
		t.Fatalf("job: %d %v", code, j)
	}
	h := http.Header{"Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {fmt.Sprint(time.Now().Unix())}, "Webhook-Signature": {"v1,bm90IGEgc2lnbmF0dXJl"}}
	if code, _ := call(t, "POST", base+"/v1/webhooks/default", "", `{"input":"x"}`, h); code != 401 {
		t.Fatalf("a badly signed webhook: %d", code)
	}
	if code, _ := call(t, "GET", base+"/no/such/page", "", "", nil); code != 404 {
		t.Fatalf("unknown URL: %d", code)
	}
	var text string
	var fams map[string]*dto.MetricFamily
	// In-flight dispatches are waited for too: once, in a full suite under
	// the race detector, a scrape right after the job ended still saw one
	// to local/calc; a dispatch that never ends still fails below.
	waitFor(t, 10*time.Second, "the job to end", func() bool {
		text, fams = scrape(t, base, opsKey)
		return value(fams, "taskrouter_requests_total", "ingress", "job", "status", "done") == 1 &&
			value(fams, "taskrouter_jobs", "status", "running") == 0 &&
			value(fams, "taskrouter_model_inflight", "model", "local/calc") == 0
	})
	cost := (prompt*2 + completion*8) / 1e6
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"taskrouter_requests_total", []string{"ingress", "http", "status", "done"}, 4},
		{"taskrouter_request_duration_seconds", []string{"ingress", "http"}, 4},
		{"taskrouter_plans_total", []string{"planner", "given", "fallback", "false"}, 3},
		{"taskrouter_plans_total", []string{"planner", "rules", "fallback", "false"}, 2},
		{"taskrouter_subtasks_total", []string{"capability", "calc", "model", "local/calc", "status", "done"}, 3},
		{"taskrouter_subtasks_total", []string{"capability", "chat", "model", "gpt-test", "status", "done"}, 1},
		{"taskrouter_subtask_duration_seconds", []string{"capability", "calc", "model", "local/calc"}, 3},
		{"taskrouter_subtask_queue_seconds", []string{"model", "local/calc"}, 3},
		{"taskrouter_model_inflight", []string{"model", "local/calc"}, 0},
		{"taskrouter_model_circuit_state", []string{"model", "gpt-test", "state", "closed"}, 1},
		{"taskrouter_model_circuit_state", []string{"model", "gpt-test", "state", "open"}, 0},
		{"taskrouter_tokens_total", []string{"model", "gpt-test", "direction", "prompt"}, prompt},
		{"taskrouter_tokens_total", []string{"model", "gpt-test", "direction", "completion"}, completion},
		{"taskrouter_cost_usd_total", []string{"model", "gpt-test"}, cost},
		{"taskrouter_http_requests_total", []string{"route", "/v1/chat/completions", "code", "200"}, 4},
		{"taskrouter_http_requests_total", []string{"route", "/v1/chat/completions", "code", "429"}, 1},
		{"taskrouter_http_requests_total", []string{"route", "/v1/jobs", "code", "202"}, 1},
		{"taskrouter_http_requests_total", []string{"route", "/v1/webhooks/{name}", "code", "401"}, 1},
		{"taskrouter_http_requests_total", []string{"route", "/", "code", "404"}, 1},
		{"taskrouter_http_requests_total", []string{"route", "/metrics", "code", "401"}, 1},
		{"taskrouter_rate_limited_total", []string{"route", "/v1/chat/completions"}, 1},
		{"taskrouter_webhook_rejections_total", []string{"hook", "default", "reason", "invalid_signature"}, 1},
		{"taskrouter_jobs", []string{"status", "queued"}, 0},
		{"taskrouter_jobs", []string{"status", "running"}, 0},
		{"taskrouter_executor_subtasks_total", []string{"model", "gpt-test", "status", "done"}, 1},
	} {
		if got := value(fams, c.name, c.labels...); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if fams[name] == nil {
			t.Errorf("no %s: the Go and process collectors are missing", name)
		}
	}
	if strings.Contains(text, "req_") || strings.Contains(text, "job_") {
		t.Errorf("a request or job id is a label value")
	}
	promtoolCheck(t, text)
}

// promtoolCheck runs `promtool check metrics` (Debian's prometheus
// package; scripts/ensure-promtool installs it, as make test does).
func promtoolCheck(t *testing.T, text string) {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		if _, aptErr := exec.LookPath("apt-get"); aptErr != nil {
			t.Skip("promtool is not installed and apt-get is unavailable to install it; the metrics were checked without it")
		}
		t.Fatalf("promtool is not installed: run scripts/ensure-promtool (make test does)")
	}
	cmd := exec.Command(bin, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		path := filepath.Join(t.TempDir(), "metrics.txt")
		_ = os.WriteFile(path, []byte(text), 0o600)
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// With API keys, an upstream key and a webhook secret, and logs at debug
// in JSON, no log line holds a secret; every line is JSON, and every
// access log line names its key.
func TestSecretsNeverLogged(t *testing.T) {
	base, logs, _ := observedServe(t)
	call(t, "POST", base+"/v1/chat/completions", opsKey, `{"model":"gpt-test","messages":[{"role":"user","content":"hi"}]}`, nil)
	call(t, "POST", base+"/v1/chat/completions", "sk-wrong-1234567890", `{"model":"gpt-test","messages":[{"role":"user","content":"hi"}]}`, nil)
	call(t, "GET", base+"/v1/models", "Bearer "+batchKey, "", nil)
	h := http.Header{"Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {fmt.Sprint(time.Now().Unix())}, "Webhook-Signature": {"v1,bm90IGEgc2lnbmF0dXJl"}}
	call(t, "POST", base+"/v1/webhooks/default", "", `{"input":"x"}`, h)
	waitFor(t, 5*time.Second, "access log lines", func() bool { return strings.Count(logs.String(), `"msg":"http request"`) >= 4 })
	out := logs.String()
	for _, secret := range []string{opsKey, batchKey, upstreamSecret, "sk-wrong-1234567890", testHookSecret, strings.TrimPrefix(testHookSecret, "whsec_")} {
		if strings.Contains(out, secret) {
			t.Errorf("a secret reached the logs: %.12s...", secret)
		}
	}
	if !strings.Contains(out, `"key":"ops"`) {
		t.Errorf("no access log line names key ops:\n%s", out)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(line, "{") {
			t.Errorf("a log line is not JSON: %q", line)
		}
	}
}
