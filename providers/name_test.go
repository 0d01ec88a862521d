package providers

import (
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

func TestModelNameKeepsValidIDsAndFoldsTheRest(t *testing.T) {
	long := strings.Repeat("x", 200)
	cases := []struct{ provider, id, want string }{
		{"ollama", "llama3.2:latest", "ollama/llama3.2:latest"},
		{"ollama", "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M", "ollama/hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M"},
		{"vllm", "Qwen/Qwen2.5-7B-Instruct", "vllm/Qwen/Qwen2.5-7B-Instruct"},
		{"lab", "my model (v2)", "lab/my-model--v2-"},
		{"lab", "通义千问", "lab/----"},
	}
	for _, c := range cases {
		if got := ModelName(c.provider, c.id); got != c.want {
			t.Errorf("ModelName(%q, %q) = %q, want %q", c.provider, c.id, got, c.want)
		}
	}
	a, b := ModelName("p", long+"a"), ModelName("p", long+"b")
	if len(a) != task.MaxModelNameBytes || a == b {
		t.Errorf("long ids: %q (%d bytes) and %q must be distinct names of %d bytes", a, len(a), b, task.MaxModelNameBytes)
	}
	for _, n := range []string{a, b, ModelName("lab", "my model (v2)")} {
		if err := task.CheckModelName(n); err != nil {
			t.Errorf("%q is no valid model name: %v", n, err)
		}
	}
}

// Two ids that fold to one name get two names.
func TestSpecsTellApartIDsThatFoldAlike(t *testing.T) {
	specs := Inference{Text: []string{"chat"}}.Specs(Config{Name: "lab", Kind: KindOpenAI, BaseURL: "http://127.0.0.1:1/v1"},
		[]Listing{{ID: "a b"}, {ID: "a+b"}, {ID: "a-b"}, {ID: "a b"}, {ID: ""}})
	if len(specs) != 3 {
		t.Fatalf("%d specs, want 3 (a duplicate and an empty id left out): %+v", len(specs), specs)
	}
	seen := map[string]string{}
	for _, s := range specs {
		if other, dup := seen[s.Name]; dup {
			t.Fatalf("%q and %q both named %q", other, s.UpstreamModel, s.Name)
		}
		seen[s.Name] = s.UpstreamModel
		if err := task.CheckModelName(s.Name); err != nil {
			t.Error(err)
		}
	}
}

func FuzzModelName(f *testing.F) {
	for _, id := range []string{"llama3.2:latest", "a b", "通义千问", strings.Repeat("é", 100), ""} {
		f.Add("ollama", id)
	}
	f.Fuzz(func(t *testing.T, provider, id string) {
		if CheckName(provider) != nil {
			return
		}
		name := ModelName(provider, id)
		if err := task.CheckModelName(name); err != nil {
			t.Fatalf("ModelName(%q, %q) = %q: %v", provider, id, name, err)
		}
		if !strings.HasPrefix(name, provider+"/") {
			t.Fatalf("ModelName(%q, %q) = %q lacks the provider's prefix", provider, id, name)
		}
	})
}

func TestMatch(t *testing.T) {
	cases := []struct {
		pattern, id string
		want        bool
	}{
		{"*coder*", "qwen2.5-coder:7b", true},
		{"*coder*", "hf.co/org/Qwen-Coder-GGUF:Q4", true},
		{"llava*", "llava:13b", true},
		{"llava*", "bakllava:latest", false},
		{"*-vl*", "qwen2.5-vl:7b", true},
		{"gpt-4o", "gpt-4o-mini", false},
		{"gpt-4o*", "GPT-4o-mini", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*", "", true},
		{"", "", true},
		{"", "x", false},
		{"**a**b", "xxaxxb", true},
		{"*a*b", "xxaxxc", false},
		{"moonshot-v1-*", "moonshot-v1-128k", true},
		{"*", "*000", true}, // a star in the id is a character like any other
		{"*b", "*ab", true},
	}
	for _, c := range cases {
		if got := Match(c.pattern, c.id); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.pattern, c.id, got, c.want)
		}
	}
}

func FuzzMatch(f *testing.F) {
	f.Add("*coder*", "qwen2.5-coder:7b")
	f.Add("a*b*c*d*e*f", strings.Repeat("a", 200))
	f.Add("?*?", "é")
	f.Fuzz(func(t *testing.T, pattern, id string) {
		got := Match(pattern, id)
		if !strings.ContainsAny(pattern, "*?") && got != strings.EqualFold(strings.ToLower(pattern), strings.ToLower(id)) {
			t.Fatalf("Match(%q, %q) = %v for a pattern without wildcards", pattern, id, got)
		}
		if pattern == "*" && !got {
			t.Fatalf("* does not match %q", id)
		}
		if !Match("*"+pattern+"*", "x"+id+"y") && got {
			t.Fatalf("%q matches %q but *%s* does not match x%sy", pattern, id, pattern, id)
		}
	})
}
