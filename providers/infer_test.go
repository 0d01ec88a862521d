package providers

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

// builtinInference infers against the built-in catalog.
func builtinInference() Inference {
	cat := task.BuiltinCatalog()
	return Inference{Text: TextCapabilities(cat.All()), Known: cat.Has}
}

func TestTextCapabilitiesFollowTheCatalog(t *testing.T) {
	got := TextCapabilities(task.BuiltinCatalog().All())
	for _, want := range []string{"chat", "qa", "summarize", "translate", "classify", "code", "reason", "continue", "roleplay", "keywords"} {
		if !slices.Contains(got, want) {
			t.Errorf("text capabilities %v lack %s", got, want)
		}
	}
	for _, not := range []string{"plan", "merge", "embed", "complete"} {
		if slices.Contains(got, not) {
			t.Errorf("text capabilities %v hold %s, which a model gets only from a rule", got, not)
		}
	}
	extra := []task.Capability{{Name: "ocr", Inputs: []string{"image"}, Outputs: []string{"text"}}, {Name: "sql", Inputs: []string{"prompt"}, Outputs: []string{"text"}}}
	got = TextCapabilities(extra)
	if !slices.Equal(got, []string{"sql"}) {
		t.Errorf("TextCapabilities(ocr, sql) = %v, want [sql]", got)
	}
}

func TestInferenceFromTheServerAndTheName(t *testing.T) {
	inf := builtinInference()
	inf.Known = func(string) bool { return true } // keep caption and vqa, which the built-in catalog lacks
	cases := []struct {
		listing   Listing
		want, not []string
		quality   map[string]float64
	}{
		{Listing{ID: "llama3.2:latest", Capabilities: []string{"completion", "tools"}}, []string{"chat", "qa", "translate", "code"}, []string{"embed", "caption"}, nil},
		{Listing{ID: "qwen2.5-coder:7b", Capabilities: []string{"completion", "tools", "insert"}}, []string{"code", "chat"}, nil, map[string]float64{"code": 0.7, "chat": 0.4}},
		{Listing{ID: "nomic-embed-text:latest", Capabilities: []string{"embedding"}}, []string{"embed"}, []string{"chat"}, nil},
		{Listing{ID: "bge-m3:latest", Family: "bert"}, []string{"embed"}, []string{"chat"}, nil},
		{Listing{ID: "llava:7b", Capabilities: []string{"completion", "vision"}}, []string{"caption", "vqa", "chat"}, nil, map[string]float64{"vqa": 0.7}},
		{Listing{ID: "qwen2.5-vl-72b-instruct"}, []string{"caption", "vqa", "chat"}, nil, nil},
		{Listing{ID: "deepseek-r1:8b", Capabilities: []string{"completion", "thinking"}}, []string{"reason", "chat"}, nil, map[string]float64{"reason": 0.7}},
		{Listing{ID: "text-embedding-3-small"}, []string{"embed"}, []string{"chat"}, nil},
		{Listing{ID: "whisper-1"}, nil, []string{"chat", "embed"}, nil},
		{Listing{ID: "gpt-4o-mini-tts"}, nil, []string{"chat"}, nil},
		{Listing{ID: "moonshot-v1-8k"}, []string{"chat", "summarize", "qa"}, []string{"embed"}, nil},
		// The server knows better than the name: no completion, no text.
		{Listing{ID: "mystery-embed-chat", Capabilities: []string{"completion"}}, []string{"chat"}, []string{"embed"}, nil},
		{Listing{ID: "image-model", Capabilities: []string{"vision"}}, nil, []string{"chat", "caption"}, nil},
	}
	for _, c := range cases {
		caps, quality := inf.Capabilities(c.listing, nil)
		for _, w := range c.want {
			if !slices.Contains(caps, w) {
				t.Errorf("%s: capabilities %v lack %s", c.listing.ID, caps, w)
			}
		}
		for _, n := range c.not {
			if slices.Contains(caps, n) {
				t.Errorf("%s: capabilities %v hold %s", c.listing.ID, caps, n)
			}
		}
		if c.want == nil && len(caps) > 0 {
			t.Errorf("%s: capabilities %v, want none", c.listing.ID, caps)
		}
		for capName, q := range c.quality {
			if quality[capName] != q {
				t.Errorf("%s: quality of %s = %v, want %v (all: %v)", c.listing.ID, capName, quality[capName], q, quality)
			}
		}
	}
}

// Capabilities the catalog lacks are dropped, and so are skipped ones;
// a rule replaces inference, and one without capabilities leaves the
// model out.
func TestInferenceKeepsToTheCatalogAndRulesOverride(t *testing.T) {
	inf := builtinInference()
	caps, _ := inf.Capabilities(Listing{ID: "llava:7b", Capabilities: []string{"completion", "vision"}}, nil)
	if !slices.Contains(caps, "caption") || !slices.Contains(caps, "vqa") {
		t.Errorf("a vision model with the built-in catalog (which has caption and vqa) got %v", caps)
	}
	noVision := func(name string) bool { return name != "caption" && name != "vqa" && inf.Known(name) }
	textOnly := Inference{Text: inf.Text, Known: noVision}
	caps, _ = textOnly.Capabilities(Listing{ID: "llava:7b", Capabilities: []string{"completion", "vision"}}, nil)
	if slices.Contains(caps, "caption") || slices.Contains(caps, "vqa") {
		t.Errorf("caption and vqa are in no catalog here, yet inferred: %v", caps)
	}
	inf.Skip = []string{"summarize", "keywords"}
	caps, _ = inf.Capabilities(Listing{ID: "llama3.2:latest", Capabilities: []string{"completion"}}, nil)
	if slices.Contains(caps, "summarize") || slices.Contains(caps, "keywords") || !slices.Contains(caps, "qa") {
		t.Errorf("with summarize and keywords skipped: %v", caps)
	}
	rules := []Rule{
		{Pattern: "*coder*", Capabilities: []string{"code", "plan"}, Quality: map[string]float64{"code": 0.9}},
		{Pattern: "qwen2.5*", Capabilities: []string{"chat"}},
		{Pattern: "tiny*"},
	}
	caps, quality := inf.Capabilities(Listing{ID: "qwen2.5-coder:7b", Capabilities: []string{"completion"}}, rules)
	if !slices.Equal(caps, []string{"code", "plan"}) || quality["code"] != 0.9 {
		t.Errorf("the first matching rule gives [code plan] with code 0.9; got %v %v", caps, quality)
	}
	quality["code"] = 0.1
	if rules[0].Quality["code"] != 0.9 {
		t.Error("changing a spec's quality changed the rule's")
	}
	if caps, _ = inf.Capabilities(Listing{ID: "qwen2.5:14b"}, rules); !slices.Equal(caps, []string{"chat"}) {
		t.Errorf("qwen2.5:14b: %v, want [chat]", caps)
	}
	if caps, _ = inf.Capabilities(Listing{ID: "tinyllama:latest", Capabilities: []string{"completion"}}, rules); len(caps) != 0 {
		t.Errorf("a rule without capabilities leaves the model out; got %v", caps)
	}
}

func TestSpecsOfAnOllama(t *testing.T) {
	c := Config{Name: "ollama", Kind: KindOllama, BaseURL: "http://127.0.0.1:11434/"}
	specs := builtinInference().Specs(c, []Listing{
		{ID: "llama3.2:latest", ContextWindow: 131072, Capabilities: []string{"completion", "tools"}},
		{ID: "whisper:latest"},
	})
	if len(specs) != 1 {
		t.Fatalf("specs %+v, want llama3.2 alone", specs)
	}
	s := specs[0]
	if s.Name != "ollama/llama3.2:latest" || s.UpstreamModel != "llama3.2:latest" || s.BaseURL != "http://127.0.0.1:11434/v1" ||
		s.Backend != task.BackendOpenAI || s.ContextWindow != 131072 || s.Provider != "ollama" || s.Concurrency != DefaultOllamaConcurrency {
		t.Errorf("spec %+v", s)
	}
}

func TestConfigCheck(t *testing.T) {
	cases := []struct {
		c    Config
		want string
	}{
		{Config{Name: "ollama", Kind: KindOllama, BaseURL: "http://127.0.0.1:11434"}, ""},
		{Config{Name: "kimi", Kind: KindOpenAI, BaseURL: "https://api.moonshot.cn/v1"}, ""},
		{Config{Kind: KindOpenAI, BaseURL: "https://x/v1"}, "name is required"},
		{Config{Name: "a/b", Kind: KindOpenAI, BaseURL: "https://x/v1"}, `holds '/'`},
		{Config{Name: "local", Kind: KindOpenAI, BaseURL: "https://x/v1"}, "built-in models' prefix"},
		{Config{Name: "x", Kind: "vllm", BaseURL: "https://x/v1"}, `kind "vllm" must be ollama or openai`},
		{Config{Name: "x", Kind: KindOpenAI, BaseURL: "ftp://x"}, "must be an http(s) URL"},
		{Config{Name: "x", Kind: KindOllama, BaseURL: "http://127.0.0.1:11434/v1"}, "without /v1"},
		{Config{Name: "x", Kind: KindOpenAI, BaseURL: "https://x/v1", Refresh: -1}, "must not be negative"},
		{Config{Name: "x", Kind: KindOpenAI, BaseURL: "https://x/v1", CapabilitiesByPattern: []Rule{{Capabilities: []string{"chat"}}}}, "capabilities_by_pattern[0]: pattern is required"},
		{Config{Name: "x", Kind: KindOpenAI, BaseURL: "https://x/v1", CapabilitiesByPattern: []Rule{{Pattern: "*", Quality: map[string]float64{"chat": 2}}}}, "quality.chat 2.00"},
	}
	for _, c := range cases {
		var got []string
		c.c.Check(func(format string, args ...any) { got = append(got, fmt.Sprintf(format, args...)) })
		all := strings.Join(got, "; ")
		if c.want == "" && all != "" || c.want != "" && !strings.Contains(all, c.want) {
			t.Errorf("Check(%+v) = %q, want %q", c.c, all, c.want)
		}
	}
}
