package main

import "testing"

func TestNearest(t *testing.T) {
	cases := []struct {
		word  string
		cands []string
		want  string
	}{
		{"chatt", []string{"summarize", "chat", "code"}, "chat"},
		{"adress", []string{"addr", "api_keys_env", "cors", "jobs"}, "addr"},
		{"capabilites", []string{"name", "backend", "capabilities", "concurrency"}, "capabilities"},
		{"trasnlate", []string{"translate", "summarize"}, "translate"},
		{"xyz", []string{"addr", "cors", "jobs"}, ""},
		{"zz", []string{"ab"}, ""},
	}
	for _, c := range cases {
		got, _ := nearest(c.word, c.cands)
		if got != c.want {
			t.Errorf("nearest(%q) = %q, want %q", c.word, got, c.want)
		}
	}
	if d := editDistance("ab", "ba"); d != 1 {
		t.Errorf("a swap costs %d edits", d)
	}
}
