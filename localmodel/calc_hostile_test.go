package localmodel

import (
	"context"
	"runtime"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

// A megabyte of "(" or "-", a number of a million digits, or a long text:
// the calculator's recursion is bounded (maxCalcDepth), and so are its
// tokens and numbers, so each costs a few megabytes instead of 300 MB of
// tokens, and gets an error that says what to send.
func TestCalcHostileInputsStaySmall(t *testing.T) {
	const mb = 1 << 20
	for _, c := range []struct {
		name, in, want string
	}{
		{"( x 1 MB", strings.Repeat("(", mb), "more than 512 tokens"},
		{"- x 1 MB, then 1", strings.Repeat("-", mb) + "1", "more than 512 tokens"},
		{"1+ x 128 K", strings.Repeat("1+", mb/8) + "1", "more than 512 tokens"},
		{"* then 1+ x 256, cut to 512 by trimming", "* " + strings.Repeat("1+", 256) + "1", "more than 512 tokens"},
		{"( x 100 around 1+1", strings.Repeat("(", 100) + "1+1" + strings.Repeat(")", 100), "deeper than 64 levels"},
		{"1,000 x 64 K", "1" + strings.Repeat(",000", mb/16) + " + 1", "more than 39321 digits"},
		{"7 x 256 K", strings.Repeat("7", mb/4) + " + 1", "more than 39321 digits"},
		{"words x 128 K, then 1+1", strings.Repeat("a ", mb/8) + "1+1", ""},
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		out, err := Calc{}.Generate(context.Background(), task.Work{Input: c.in}, nil)
		runtime.ReadMemStats(&after)
		if c.want == "" {
			if err != nil || out.Text != "1+1 = 2" {
				t.Errorf("%s: %q, %v", c.name, out.Text, err)
			}
		} else if e := task.AsError(err); e == nil || e.Code != task.CodeBadInput || !strings.Contains(e.Message, c.want) {
			t.Errorf("%s: %v, want bad_input saying %q", c.name, err, c.want)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 32<<20 {
			t.Errorf("%s: allocated %d MB", c.name, n>>20)
		}
	}
}
