package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

// Every file in configs/ must load and validate: they are the documentation.
func TestConfigsLoad(t *testing.T) {
	files, err := filepath.Glob("../../configs/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no config files found: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, err := LoadConfig(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			if _, err := modelSpecs(cfg); err != nil {
				t.Fatal(err)
			}
			if _, err := buildCatalog(cfg, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestConfigErrorsNameKeyAndLine(t *testing.T) {
	cases := []struct {
		yaml string
		want []string
	}{
		{"nats:\n  url: \"\"\n  lissten: x\n", []string{"line 3", "lissten"}},
		{"planner:\n  mode: clever\n", []string{"planner.mode", "clever"}},
		{"planner:\n  max_rounds: 9\n", []string{"planner.max_rounds", "between 1"}},
		{"router:\n  attempts: 0\n", []string{"router.attempts"}},
		{"router:\n  cooldown: 1m\n", []string{"router.max_cooldown", "shorter than router.cooldown"}},
		{"router:\n  failures_to_cooldown: 0\n", []string{"router.failures_to_cooldown"}},
		{"router:\n  accept_timeout: 2ms\n", []string{"router.accept_timeout", "too short", "such as 1s"}},
		{"models:\n  - name: gpt\n    backend: openai\n    base_url: ftp://x\n    capabilities: [chat]\n", []string{"models[0] (gpt)", "base_url"}},
		{"models:\n  - name: m\n    backend: openai\n    base_url: http://127.0.0.1:1/v1\n    capabilities: [chat]\n    context_window: 100\n    max_output_tokens: 100\n", []string{"leaves no room"}},
		{"nats:\n  url: nats://127.0.0.1:4222\n  listen: 127.0.0.1:4222\n", []string{"nats.listen"}},
		{"models:\n  - name: d\n    backend: openai\n    base_url: https://x/v1\n    api: image\n    capabilities: [image-generate]\n",
			[]string{`models[0] (d): api "image" must be one of chat, images, transcriptions, speech`}},
		{"models:\n  - name: d\n    backend: openai\n    base_url: https://x/v1\n    api: speech\n    capabilities: [tts, caption]\n",
			[]string{`models[0] (d): api "speech" cannot serve capability caption; caption goes through api chat`}},
		{"models:\n  - {name: local/calc, backend: local, api: chat, capabilities: [calc]}\n", []string{`models[0] (local/calc): api "chat" is for models with backend openai`}},
		{"http:\n  adress: 127.0.0.1:8080\n", []string{"http.adress (line 2)", "did you mean http.addr?"}},
		{"htp:\n  addr: x\n", []string{"htp (line 1)", "did you mean http?"}},
		{"http:\n  rate_limit:\n    burts: 3\n", []string{"http.rate_limit.burts (line 3)", "did you mean http.rate_limit.burst?"}},
		{"models:\n  - {name: a, backend: local, capabilities: [calc]}\n  - {name: b, backend: local, capabilities: [calc]}\n" +
			"  - name: c\n    capabilites: [chat]\n", []string{"models[2].capabilites (line 5)", "did you mean models[2].capabilities?"}},
		{"http:\n  zzzzzzzz: 1\n", []string{"http.zzzzzzzz (line 2)", "the keys of http are addr, api_keys_env"}},
		{"router:\n  subtask_timeout: soon\n", []string{"router.subtask_timeout (line 2)", `"soon" is not a duration`}},
		{"router:\n  attempts: [1]\n", []string{"router.attempts (line 2)", "expected a whole number, got a list"}},
		{"http: [1, 2]\n", []string{"http (line 1)", "expected a mapping with the keys addr,"}},
		{"models:\n  - name: m\n    quality: {chat: high}\n", []string{"models[0].quality.chat (line 3)", `"high" is not a number`}},
		{"models:\n  - name: my model\n    backend: local\n    capabilities: [calc]\n", []string{"models[0] (my model)", "a space", "letters a-z"}},
		{fallbackModels("[gpt-minni]"), []string{"models[0] (gpt-big): fallbacks[0]", `"gpt-minni"`, `did you mean "gpt-mini"`}},
		{fallbackModels("[quux]"), []string{`"quux" is no configured or built-in model`, "known models:", "gpt-mini", "local/calc"}},
		{fallbackModels("[gpt-big]"), []string{"fallbacks[0]", "the model itself"}},
		{fallbackModels("[gpt-mini, gpt-mini]"), []string{"fallbacks[1]", "listed twice"}},
		{fallbackModels("[local/calc]"), []string{`"local/calc" offers none of gpt-big's capabilities (chat, summarize)`}},
		{"providers:\n  - {name: ollama, kind: olama, base_url: \"http://127.0.0.1:11434\"}\n", []string{`providers[0] (ollama): kind "olama" must be ollama or openai`}},
		{"providers:\n  - {name: ollama, kind: ollama, base_url: \"http://127.0.0.1:11434/v1\"}\n", []string{"providers[0] (ollama): base_url", "without /v1"}},
		{"providers:\n  - {kind: openai, base_url: \"https://x/v1\"}\n", []string{"providers[0]: name is required"}},
		{"providers:\n  - {name: a, kind: openai, base_url: \"https://x/v1\"}\n  - {name: a, kind: openai, base_url: \"https://y/v1\"}\n", []string{"providers[1] (a): the name is used twice"}},
		{"providers:\n  - {name: gpt-mini, kind: openai, base_url: \"https://x/v1\"}\n" + fallbackModels("[]"), []string{"providers[0] (gpt-mini): a model has the same name"}},
		{"providers:\n  - name: a\n    kind: openai\n    base_url: https://x/v1\n    capabilities_by_patern: []\n", []string{"providers[0].capabilities_by_patern (line 5)", "did you mean providers[0].capabilities_by_pattern?"}},
		{"providers:\n  - {name: a, kind: openai, base_url: \"https://x/v1\", refresh: often}\n", []string{"providers[0].refresh (line 2)", "not a duration"}},
	}
	for _, c := range cases {
		path := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(path, []byte(c.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadConfig(path)
		if err == nil {
			err = cfg.Validate()
		}
		if err == nil {
			t.Fatalf("config %q was accepted", c.yaml)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not mention %q", err, w)
			}
		}
		if strings.Contains(err.Error(), "main.") || strings.Contains(err.Error(), "task.") {
			t.Errorf("error %q names a Go type", err)
		}
	}
}

// A model capability that no catalog defines is refused with the nearest
// name; a catalog file that defines it makes it good.
func TestModelCapabilityMustBeInACatalog(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Models = []task.ModelSpec{{Name: "gpt", Backend: task.BackendOpenAI, BaseURL: "http://127.0.0.1:1/v1", Capabilities: []string{"summarize", "chatt"}}}
	_, err := buildCatalog(cfg, nil)
	if err == nil || !strings.Contains(err.Error(), `models[0] (gpt): capability "chatt" is in no catalog; did you mean "chat"?`) {
		t.Fatalf("capability chatt: %v", err)
	}
	if !errors.As(err, new(usageError)) {
		t.Errorf("%T is not a usage error (exit 2)", err)
	}
	file := filepath.Join(t.TempDir(), "extra.yaml")
	if err := os.WriteFile(file, []byte("- name: chatt\n  description: Chat, tersely.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := buildCatalog(cfg, []string{file}); err != nil {
		t.Fatalf("with chatt in a catalog file: %v", err)
	}
}

// fallbackModels is a config of two chat models, the first with the
// given fallbacks list.
func fallbackModels(fallbacks string) string {
	return "models:\n" +
		"  - {name: gpt-big, backend: openai, base_url: \"http://127.0.0.1:1/v1\", capabilities: [chat, summarize], fallbacks: " + fallbacks + "}\n" +
		"  - {name: gpt-mini, backend: openai, base_url: \"http://127.0.0.1:1/v1\", capabilities: [chat]}\n"
}

func TestFallbacksToKnownModelsAreValid(t *testing.T) {
	for _, fallbacks := range []string{"[gpt-mini]", "[gpt-mini, local/summarize]", "[]"} {
		cfg := DefaultConfig()
		if err := decodeConfig([]byte(fallbackModels(fallbacks)), &cfg); err != nil {
			t.Fatal(err)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("fallbacks %s: %v", fallbacks, err)
		}
	}
}

func TestEnvOverrides(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ApplyEnv(func(k string) string {
		return map[string]string{"TASKROUTER_NATS_URL": "nats://127.0.0.1:4222", "TASKROUTER_REDIS_URL": "redis://127.0.0.1:6379/0"}[k]
	})
	if cfg.NATS.URL != "nats://127.0.0.1:4222" || cfg.Redis.URL != "redis://127.0.0.1:6379/0" {
		t.Fatalf("overrides not applied: %+v %+v", cfg.NATS, cfg.Redis)
	}
}

func FuzzDecodeConfig(f *testing.F) {
	data, _ := os.ReadFile("../../configs/taskrouter.yaml")
	f.Add(data)
	f.Add([]byte("nats: {url: x}\nmodels: [{name: a}]"))
	f.Add([]byte("http:\n  adress: x\n  rate_limit: &r {burts: 1}\nmodels:\n  - {capabilites: [a], quality: {x: y}, name: my model}\n  - *r\nrouter: {lost_after: soon}\n"))
	f.Add([]byte("models: [{name: a, backend: openai, base_url: 'http://x/v1', capabilities: [chat], fallbacks: [a, b, a, local/calc, ''-]}]\nrouter: {cooldown: 1s, max_cooldown: 0s}"))
	f.Add([]byte("providers: [{name: a, kind: ollama, base_url: 'http://h:1/v1', refresh: -1s, capabilities_by_pattern: [{pattern: '', capabilities: [], quality: {x: 2}}]}, {name: a}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := DefaultConfig()
		if err := decodeConfig(data, &cfg); err != nil {
			return
		}
		_ = cfg.Validate() // must not panic
	})
}

// A model name that slipped past validation (the registry's, another
// process's) stops the executors with a config error, exit 2, not as if
// NATS were unreachable.
func TestBadModelNameAtStartIsAConfigError(t *testing.T) {
	cfg := DefaultConfig()
	cfg.HTTP.Addr = ""
	cfg.Models = []task.ModelSpec{{Name: "my model", Backend: task.BackendOpenAI, BaseURL: "http://127.0.0.1:1/v1", Capabilities: []string{"chat"}}}
	cfg.Executors = []string{"my model"}
	env := &cliEnv{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	a, err := startApp(context.Background(), env, cfg, nil, nil, nil, appParts{executors: true})
	if err == nil {
		a.close()
		t.Fatal("an executor started for model \"my model\"")
	}
	if !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), "a space") {
		t.Fatalf("%T %v; want a usage error naming the space", err, err)
	}
}

// A model whose api_key_env is unset is reported when the executor starts,
// naming the model and the variable.
func TestUnsetKeyVariableIsReportedAtStart(t *testing.T) {
	cfg := DefaultConfig()
	cfg.HTTP.Addr = ""
	cfg.Models = []task.ModelSpec{
		{Name: "gpt", Backend: task.BackendOpenAI, BaseURL: "http://127.0.0.1:1/v1", APIKeyEnv: "GPT_KEY", Capabilities: []string{"chat"}},
		{Name: "qwen", Backend: task.BackendOpenAI, BaseURL: "http://127.0.0.1:1/v1", APIKeyEnv: "QWEN_KEY", Capabilities: []string{"chat"}},
	}
	cfg.Executors = []string{"gpt", "qwen"}
	var stderr syncBuffer
	env := &cliEnv{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr,
		getenv: func(k string) string { return map[string]string{"QWEN_KEY": "sk-qwen-secret"}[k] }}
	a, err := startApp(context.Background(), env, cfg, nil, nil, nil, appParts{executors: true})
	if err != nil {
		t.Fatal(err)
	}
	a.close()
	log := stderr.String()
	if !strings.Contains(log, "level=WARN") || !strings.Contains(log, "model=gpt variable=GPT_KEY") {
		t.Errorf("no warning naming model gpt and GPT_KEY:\n%s", log)
	}
	if strings.Contains(log, "QWEN_KEY") || strings.Contains(log, "sk-qwen") {
		t.Errorf("the log mentions the model whose key is set, or its key:\n%s", log)
	}
}

// A provider's rule must name capabilities of the catalog; executors:
// may name a provider, which serves its discovered models, but an
// unknown name lists the providers too.
func TestProviderRulesAndExecutorsNames(t *testing.T) {
	cfg := DefaultConfig()
	if err := decodeConfig([]byte("providers:\n  - name: lab\n    kind: openai\n    base_url: https://x/v1\n"+
		"    capabilities_by_pattern: [{pattern: \"*\", capabilities: [chatt]}]\n"), &cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	_, err := buildCatalog(cfg, nil)
	if err == nil || !strings.Contains(err.Error(), `providers[0] (lab): capabilities_by_pattern[0] (*): capability "chatt" is in no catalog; did you mean "chat"?`) {
		t.Fatalf("rule capability chatt: %v", err)
	}
	cfg.Providers[0].CapabilitiesByPattern[0].Capabilities = []string{"chat", "plan"}
	if _, err := buildCatalog(cfg, nil); err != nil {
		t.Fatal(err)
	}
	if !hasPlanModel(cfg) {
		t.Error("a rule giving plan does not turn the LLM planner on")
	}
	a := &app{cfg: cfg}
	cfg.Executors = []string{"local/calc", "lab"}
	a.cfg = cfg
	served, err := a.servedModels(appParts{executors: true})
	if err != nil || len(served) != 1 || served[0].Spec.Name != "local/calc" {
		t.Fatalf("executors [local/calc, lab]: %v %v", served, err)
	}
	a.cfg.Executors = []string{"labb"}
	if _, err := a.servedModels(appParts{executors: true}); err == nil || !strings.Contains(err.Error(), "providers are lab") {
		t.Fatalf("executors [labb]: %v", err)
	}
}
