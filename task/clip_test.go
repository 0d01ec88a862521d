package task

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClipText(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want string
		cut  bool
	}{
		{"hello", 10, "hello", false},
		{"hello", 5, "hello", false},
		{"hello", 4, "hell", true},
		{"héllo", 2, "h", true}, // é is two bytes: never half of it
		{"人工智能", 5, "人", true},
		{"人工智能", 6, "人工", true},
		{"abc", 0, "", true},
	} {
		got, cut := ClipText(c.in, c.max)
		if got != c.want || cut != c.cut || !utf8.ValidString(got) {
			t.Errorf("ClipText(%q, %d) = %q, %v; want %q, %v", c.in, c.max, got, cut, c.want, c.cut)
		}
	}
}

func TestPlanClippedLeavesThePlanAlone(t *testing.T) {
	long := strings.Repeat("x", 100)
	p := Plan{Tasks: []Subtask{
		{ID: "t1", Capability: "summarize", Input: long, Args: map[string]string{"a": long, "b": "short"}, Deps: []string{}},
		{ID: "t2", Capability: "keywords", Input: "short", Deps: []string{"t1"}},
	}}
	c, clipped := p.Clipped(10)
	if !clipped || len(c.Tasks[0].Input) != 10 || len(c.Tasks[0].Args["a"]) != 10 || c.Tasks[0].Args["b"] != "short" || c.Tasks[1].Input != "short" {
		t.Fatalf("clipped = %v, %+v", clipped, c.Tasks)
	}
	if p.Tasks[0].Input != long || p.Tasks[0].Args["a"] != long {
		t.Fatal("Clipped changed the plan it was given")
	}
	if _, clipped := p.Clipped(1000); clipped {
		t.Fatal("a plan within the bound was reported clipped")
	}
}
