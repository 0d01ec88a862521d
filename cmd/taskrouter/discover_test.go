package main

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/adapters/ollama/ollamatest"
	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/task"
)

// scriptedOllama is an Ollama with a general chat model that knows the
// capital of France and an embedding model.
func scriptedOllama(t *testing.T) *ollamatest.Server {
	t.Helper()
	s := ollamatest.New()
	t.Cleanup(s.Close)
	s.Pull(ollamatest.Model{Name: "llama3.2:latest", Family: "llama", ParameterSize: "3.2B", Quantization: "Q4_K_M",
		ContextLength: 131072, Capabilities: []string{"completion", "tools"},
		Reply: openaitest.Behaviour{Reply: "The capital of France is Paris."}})
	s.Pull(ollamatest.Model{Name: "nomic-embed-text:latest", Family: "nomic-bert", ContextLength: 2048, Capabilities: []string{"embedding"}})
	return s
}

// With no config, ask finds the Ollama at OLLAMA_HOST and answers a
// general question with its model, saying which model served it;
// --no-discover turns that off.
func TestAskWithoutConfigUsesTheOllamaAtOllamaHost(t *testing.T) {
	ol := scriptedOllama(t)
	for _, host := range []string{ol.Addr(), "http://" + ol.Addr()} {
		code, out, errOut := runCLIEnv(t, context.Background(), map[string]string{"OLLAMA_HOST": host}, "ask", "What is the capital of France?")
		if code != exitOK || !strings.Contains(out, "Paris") {
			t.Fatalf("OLLAMA_HOST=%s: exit %d, stdout %q, stderr:\n%s", host, code, out, errOut)
		}
		// The rules planner makes the question qa or chat; the Ollama model serves both.
		for _, want := range []string{" ollama/llama3.2:latest running on", "using the models of the Ollama at http://" + ol.Addr(), "--no-discover"} {
			if !strings.Contains(errOut, want) {
				t.Errorf("stderr lacks %q:\n%s", want, errOut)
			}
		}
	}
	rec, ok := ol.OpenAI().Last("llama3.2:latest")
	if !ok || !strings.Contains(string(rec.Body), "capital of France") {
		t.Fatalf("the Ollama's /v1/chat/completions got no question: %+v", rec)
	}
	code, _, errOut := runCLIEnv(t, context.Background(), map[string]string{"OLLAMA_HOST": ol.Addr()}, "ask", "--no-discover", "What is the capital of France?")
	if code != exitFailed || !strings.Contains(errOut, "no_model") || strings.Contains(errOut, "using the models") {
		t.Fatalf("with --no-discover: exit %d, stderr:\n%s", code, errOut)
	}
}

// The built-in models keep what they do: a request they can serve goes
// to them, the Ollama's models only take the rest.
func TestDiscoveredModelsLeaveTheBuiltinsTheirWork(t *testing.T) {
	ol := scriptedOllama(t)
	code, out, errOut := runCLIEnv(t, context.Background(), map[string]string{"OLLAMA_HOST": ol.Addr()}, "models")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var llama string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "ollama/llama3.2:latest ") {
			llama = line
		}
	}
	if llama == "" || !strings.HasSuffix(strings.TrimSpace(llama), " discovered:ollama") || !strings.Contains(out, "local/summarize") ||
		!strings.Contains(out, "ollama/nomic-embed-text:latest") {
		t.Fatalf("models output:\n%s", out)
	}
	for _, c := range []string{"summarize", "keywords", "langid", "calc"} {
		if strings.Contains(llama, c) {
			t.Errorf("without a config the discovered model takes %s from the built-ins: %s", c, llama)
		}
	}
	if !strings.Contains(llama, "qa") || !strings.Contains(llama, "translate") {
		t.Errorf("the discovered model lacks qa or translate: %s", llama)
	}
	code, out, errOut = runCLIEnv(t, context.Background(), map[string]string{"OLLAMA_HOST": ol.Addr()}, "ask", "--json", "What is 17 * 23 + 4?")
	if code != exitOK || !strings.Contains(out, `"model": "local/calc"`) {
		t.Fatalf("calc went elsewhere: exit %d\n%s\n%s", code, out, errOut)
	}
}

// An Ollama that accepts connections and never answers costs ask no more
// than the probe's bound: well within the five seconds this test gives
// the whole command, against ten for a listing call.
func TestAnOllamaThatNeverAnswersDoesNotHoldAsk(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	code, out, errOut := runCLIEnv(t, ctx, map[string]string{"OLLAMA_HOST": ln.Addr().String()}, "ask", "What is 2 + 2?")
	if code != exitOK || !strings.Contains(out, "4") || strings.Contains(errOut, "WARN") {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, out, errOut)
	}
}

// A configured provider's models are discovered at start, refreshed on
// its interval (a model pulled later is served, one removed withdrawn),
// and answer through the OpenAI-compatible adapter with the provider's
// key; a model the config lists under models: is not registered twice.
func TestProvidersListIsRefreshed(t *testing.T) {
	ol := scriptedOllama(t)
	lab := openaitest.New(openaitest.WithAPIKey("sk-lab"))
	defer lab.Close()
	lab.Script("lab-chat-1", openaitest.Behaviour{Reply: "lab says hi"})
	lab.Script("lab-priced", openaitest.Behaviour{Reply: "priced"})
	lab.SetModelList([]openaitest.ListedModel{{ID: "lab-chat-1", Fields: map[string]any{"context_length": 65536}}, {ID: "lab-priced"}, {ID: "whisper-1"}})
	cfg := DefaultConfig()
	cfg.HTTP.Addr = ""
	path := filepath.Join(t.TempDir(), "p.yaml")
	yaml := "providers:\n" +
		"  - {name: local-ollama, kind: ollama, base_url: \"" + ol.URL() + "\", refresh: 50ms}\n" +
		"  - {name: lab, kind: openai, base_url: \"" + lab.URL() + "\", api_key_env: LAB_KEY, refresh: 50ms,\n" +
		"     capabilities_by_pattern: [{pattern: \"*chat*\", capabilities: [chat, qa], quality: {qa: 0.9}}]}\n" +
		"models:\n" +
		"  - {name: priced, backend: openai, base_url: \"" + lab.URL() + "/\", api_key_env: LAB_KEY, upstream_model: lab-priced, capabilities: [chat], price: {input_per_mtok: 1, output_per_mtok: 2}}\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := &cliEnv{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return map[string]string{"LAB_KEY": "sk-lab"}[k] }}
	p, err := loadPlanning(env, commonFlags{config: path})
	if err != nil {
		t.Fatal(err)
	}
	a, err := p.start(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	specs := registered(t, a.reg)
	chat, ok := specs["lab/lab-chat-1"]
	if !ok || chat.Provider != "lab" || chat.ContextWindow != 65536 || !slices.Equal(chat.Capabilities, []string{"chat", "qa"}) || chat.Quality["qa"] != 0.9 {
		t.Fatalf("lab/lab-chat-1 = %+v (registered: %v)", chat, keys(specs))
	}
	llama := specs["local-ollama/llama3.2:latest"]
	if llama.ContextWindow != 131072 || !llama.Has("summarize") || llama.BaseURL != ol.URL()+"/v1" {
		t.Errorf("with a config the discovered model takes every text capability: %+v", llama)
	}
	for _, absent := range []string{"lab/lab-priced", "lab/whisper-1"} {
		if _, ok := specs[absent]; ok {
			t.Errorf("%s is registered: a configured model and a speech model are not", absent)
		}
	}
	resp := a.router.Handle(context.Background(), task.Request{ID: "req_lab", Input: "hello", Hints: task.Hints{Model: "lab/lab-chat-1"}}, nil)
	if resp.Error != nil || resp.Answer != "lab says hi" {
		t.Fatalf("a call to the discovered model: %+v", resp)
	}

	ol.Pull(ollamatest.Model{Name: "qwen2.5-coder:7b", Family: "qwen2", Capabilities: []string{"completion", "insert"}})
	ol.Remove("llama3.2:latest")
	waitRegistered(t, a.reg, func(s map[string]task.ModelSpec) bool {
		_, coder := s["local-ollama/qwen2.5-coder:7b"]
		_, llama := s["local-ollama/llama3.2:latest"]
		return coder && !llama
	})
	if slices.Contains(a.servedNames(), "local-ollama/llama3.2:latest") {
		t.Errorf("the withdrawn model is still served: %v", a.servedNames())
	}
}

func registered(t *testing.T, r registry.Registry) map[string]task.ModelSpec {
	t.Helper()
	states, err := r.Models(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]task.ModelSpec{}
	for _, s := range states {
		out[s.Spec.Name] = s.Spec
	}
	return out
}

func waitRegistered(t *testing.T, r registry.Registry, cond func(map[string]task.ModelSpec) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		specs := registered(t, r)
		if cond(specs) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the registry never got there; it has %v", keys(specs))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func keys(m map[string]task.ModelSpec) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
