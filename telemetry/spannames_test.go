package telemetry

import (
	"fmt"
	"testing"
)

func TestSpanNames(t *testing.T) {
	names := NewSpanNames("subtask ")
	for range 2 {
		if got := names.Of("summarize"); got != "subtask summarize" {
			t.Fatalf("Of(summarize) = %q", got)
		}
	}
	if got := names.Of(""); got != "subtask " {
		t.Errorf("Of(\"\") = %q", got)
	}
	// Past the bound, names are still right, and no longer kept.
	for i := range maxSpanNames + 10 {
		c := fmt.Sprint("c", i)
		if got := names.Of(c); got != "subtask "+c {
			t.Fatalf("Of(%q) = %q", c, got)
		}
	}
	if n := names.n.Load(); n != maxSpanNames {
		t.Errorf("kept %d names, want the bound %d", n, maxSpanNames)
	}
}
