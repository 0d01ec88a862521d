package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		{"router:\n  attempts: 0\n", []string{"router.attempts"}},
		{"router:\n  cooldown: 1m\n", []string{"router.max_cooldown", "shorter than router.cooldown"}},
		{"router:\n  failures_to_cooldown: 0\n", []string{"router.failures_to_cooldown"}},
		{"models:\n  - name: gpt\n    backend: openai\n    base_url: ftp://x\n    capabilities: [chat]\n", []string{"models[0] (gpt)", "base_url"}},
		{"models:\n  - name: m\n    backend: openai\n    base_url: http://127.0.0.1:1/v1\n    capabilities: [chat]\n    context_window: 100\n    max_output_tokens: 100\n", []string{"leaves no room"}},
		{"nats:\n  url: nats://127.0.0.1:4222\n  listen: 127.0.0.1:4222\n", []string{"nats.listen"}},
		{fallbackModels("[gpt-minni]"), []string{"models[0] (gpt-big): fallbacks[0]", `"gpt-minni"`, `did you mean "gpt-mini"`}},
		{fallbackModels("[quux]"), []string{`"quux" is no configured or built-in model`, "known models:", "gpt-mini", "local/calc"}},
		{fallbackModels("[gpt-big]"), []string{"fallbacks[0]", "the model itself"}},
		{fallbackModels("[gpt-mini, gpt-mini]"), []string{"fallbacks[1]", "listed twice"}},
		{fallbackModels("[local/calc]"), []string{`"local/calc" offers none of gpt-big's capabilities (chat, summarize)`}},
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
	f.Add([]byte("models: [{name: a, backend: openai, base_url: 'http://x/v1', capabilities: [chat], fallbacks: [a, b, a, local/calc, ''-]}]\nrouter: {cooldown: 1s, max_cooldown: 0s}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := DefaultConfig()
		if err := decodeConfig(data, &cfg); err != nil {
			return
		}
		_ = cfg.Validate() // must not panic
	})
}
