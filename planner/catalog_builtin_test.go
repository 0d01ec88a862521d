package planner

import (
	"context"
	"testing"
	"unicode"

	"github.com/taskrouter/taskrouter/task"
)

// TestBuiltinCatalog checks the built-in capabilities are complete data:
// types, titles in English and Chinese, and examples and keywords in both
// languages for those a planner plans; the direct ones (endpoints of
// their own) are in the catalog but never offered to a planner.
func TestBuiltinCatalog(t *testing.T) {
	want := []string{"summarize", "translate", "keywords", "langid", "calc", "textstats", "extract", "sentiment",
		"classify", "qa", "chat", "code", "reason", "continue", "roleplay", "plan", "merge",
		"caption", "vqa", "ocr", "image-generate", "image-edit", "imageinfo", "asr", "tts", "audioinfo"}
	direct := []string{"embed", "complete"}
	cat := task.BuiltinCatalog()
	if got := len(cat.Plannable()); got != len(want) {
		t.Errorf("the built-in catalog has %d plannable capabilities, want %d", got, len(want))
	}
	if got := len(cat.All()); got != len(want)+len(direct) {
		t.Errorf("the built-in catalog has %d capabilities, want %d", got, len(want)+len(direct))
	}
	for _, name := range direct {
		if c, ok := cat.Get(name); !ok || !c.Direct || c.Description == "" {
			t.Errorf("direct capability %q = %+v, %v", name, c, ok)
		}
	}
	for _, name := range want {
		c, ok := cat.Get(name)
		if !ok {
			t.Errorf("capability %q is missing", name)
			continue
		}
		if len(c.Inputs) == 0 || len(c.Outputs) == 0 {
			t.Errorf("%s: inputs %v and outputs %v must not be empty", name, c.Inputs, c.Outputs)
		}
		if c.Titles["en"] == "" || c.Titles["zh"] == "" {
			t.Errorf("%s: titles %v need en and zh", name, c.Titles)
		}
		if en, zh := countByScript(c.Examples); en < 4 || zh < 4 {
			t.Errorf("%s: %d English and %d Chinese examples, want at least 4 of each", name, en, zh)
		}
		if en, zh := countByScript(c.Keywords); en < 2 || zh < 2 {
			t.Errorf("%s: %d English and %d Chinese keywords, want at least 2 of each", name, en, zh)
		}
	}
	if a, b := task.BuiltinCatalog(), task.BuiltinCatalog(); &a.All()[0].Examples[0] == &b.All()[0].Examples[0] {
		t.Error("two calls share their data")
	}
}

func countByScript(texts []string) (latin, han int) {
	for _, s := range texts {
		if hasHan(s) {
			han++
		} else {
			latin++
		}
	}
	return latin, han
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// TestBuiltinExamplesPlanToThemselves plans every example phrasing of
// every built-in capability as a one-subtask request: the matcher must
// map nearly all of them back to their own capability.
func TestBuiltinExamplesPlanToThemselves(t *testing.T) {
	cat := task.BuiltinCatalog()
	p, err := NewSingle(cat)
	if err != nil {
		t.Fatal(err)
	}
	total, right := 0, 0
	for _, c := range cat.Plannable() {
		for _, ex := range c.Examples {
			plan, err := p.Plan(context.Background(), task.Request{Input: ex})
			if err != nil {
				t.Fatalf("planning %q: %v", ex, err)
			}
			total++
			if got := plan.Tasks[0].Capability; got == c.Name {
				right++
			} else {
				t.Logf("%q: planned as %s, listed under %s", ex, got, c.Name)
			}
		}
	}
	if rate := float64(right) / float64(total); rate < 0.95 {
		t.Errorf("%d of %d examples plan to their own capability (%.1f%%), want at least 95%%", right, total, 100*rate)
	}
}

// Requests that read like the direct capabilities are planned to
// capabilities that answer with text: embed and complete are asked for by
// their endpoints only, and answer with no text to merge.
func TestDirectCapabilitiesAreNeverPlanned(t *testing.T) {
	cat := task.BuiltinCatalog()
	single, err := NewSingle(cat)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := New(ModeRules, cat)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{"Embed these sentences as vectors: the fox.", "Compute embeddings for: a, b",
		"Continue this prompt as raw text with no chat roles: Once upon"} {
		for name, p := range map[string]Planner{"single": single, "rules": rules} {
			plan, err := p.Plan(context.Background(), task.Request{Input: in})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range plan.Tasks {
				if s.Capability == "embed" || s.Capability == "complete" {
					t.Errorf("%s planned %q as %s", name, in, s.Capability)
				}
			}
		}
	}
}
