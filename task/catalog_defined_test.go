package task

import (
	"strings"
	"testing"
)

func TestWithDefined(t *testing.T) {
	base, _ := NewCatalog(Capability{Name: "summarize", Description: "Summarizes"})
	specs := []ModelSpec{
		{Name: "mcp/a", Capabilities: []string{"a-echo", "summarize", "a-undescribed"}, Defines: []Capability{
			{Name: "a-echo", Description: "Echoes", InputSchema: []byte(`{"type":"object"}`)},
			{Name: "summarize", Description: "A tool that claims a built-in name"},
			{Name: "a-undescribed"},
		}},
		{Name: "mcp/b", Capabilities: []string{"a-echo", "b-add"}, Defines: []Capability{
			{Name: "a-echo", Description: "Another echo"},
			{Name: "b-add", Description: "Adds"},
		}},
	}
	cat, skipped := base.WithDefined(specs)
	if got, _ := cat.Get("a-echo"); got.Description != "Echoes" || string(got.InputSchema) != `{"type":"object"}` {
		t.Errorf("a-echo is %+v, want the first model's", got)
	}
	if got, _ := cat.Get("summarize"); got.Description != "Summarizes" {
		t.Errorf("a definition replaced the catalog's summarize: %+v", got)
	}
	if !cat.Has("b-add") || cat.Has("a-undescribed") {
		t.Errorf("catalog %v", cat.All())
	}
	if base.Has("a-echo") {
		t.Error("the base catalog changed")
	}
	msgs := ""
	for _, err := range skipped {
		msgs += err.Error() + "\n"
	}
	for _, want := range []string{`capability "summarize", which the catalog already has`, `"a-echo", which model mcp/a defines too`, `"a-undescribed"`, "a description is required"} {
		if !strings.Contains(msgs, want) {
			t.Errorf("the reasons do not say %q:\n%s", want, msgs)
		}
	}
	// A definition the model does not serve is left out too.
	_, skipped = base.WithDefined([]ModelSpec{{Name: "m", Defines: []Capability{{Name: "x", Description: "X"}}}})
	if len(skipped) != 1 || !strings.Contains(skipped[0].Error(), "does not list it") {
		t.Errorf("skipped %v", skipped)
	}
	if same, _ := base.WithDefined(nil); same != base {
		t.Error("nothing defined should give the same catalog")
	}
}
