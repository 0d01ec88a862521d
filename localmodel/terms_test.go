package localmodel

import (
	"slices"
	"testing"
)

func TestIndexTerms(t *testing.T) {
	for _, c := range []struct {
		text string
		want []string
	}{
		{"I'm flying to Lisbon's airport for my trips!", []string{"flying", "lisbon", "airport", "trip"}},
		{"The bus is late; 42 buses.", []string{"bus", "late", "42", "buse"}},
		{"我下周去北京出差", nil},
	} {
		got := IndexTerms(c.text)
		if c.want == nil {
			if len(got) == 0 {
				t.Errorf("IndexTerms(%q) found no term", c.text)
			}
			continue
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("IndexTerms(%q) = %q, want %q", c.text, got, c.want)
		}
	}
	if got := IndexTerms("我下周去北京出差"); !slices.Contains(got, "北京") {
		t.Errorf("the Chinese terms %q lack the word 北京", got)
	}
}
