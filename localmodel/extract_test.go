package localmodel

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/taskrouter/taskrouter/task"
)

// items flattens an extraction into comparable strings, one per entity.
func (ex extraction) items() []string {
	var out []string
	for _, s := range ex.Emails {
		out = append(out, "email:"+s)
	}
	for _, s := range ex.URLs {
		out = append(out, "url:"+s)
	}
	for _, s := range ex.Phones {
		out = append(out, "phone:"+s)
	}
	for _, d := range ex.Dates {
		out = append(out, "date:"+d.Text+"="+d.ISO)
	}
	for _, n := range ex.Numbers {
		out = append(out, fmt.Sprint("number:", n))
	}
	for _, m := range ex.Money {
		out = append(out, fmt.Sprint("money:", m.Text, "=", m.Amount, m.Currency))
	}
	return out
}

func TestExtractF1(t *testing.T) {
	b, err := os.ReadFile("testdata/extract.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Text string     `json:"text"`
		Want extraction `json:"want"`
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	tp, fp, fn := 0, 0, 0
	for _, c := range cases {
		got := extractEntities(c.Text).items()
		want := map[string]int{}
		for _, w := range c.Want.items() {
			want[w]++
		}
		for _, g := range got {
			if want[g] > 0 {
				want[g]--
				tp++
				continue
			}
			fp++
			t.Logf("%q: unexpected %s", c.Text, g)
		}
		for w, n := range want {
			fn += n
			if n > 0 {
				t.Logf("%q: missed %s", c.Text, w)
			}
		}
	}
	precision, recall := float64(tp)/float64(tp+fp), float64(tp)/float64(tp+fn)
	f1 := 2 * precision * recall / (precision + recall)
	t.Logf("extract: precision %.3f recall %.3f F1 %.3f over %d entities in %d texts", precision, recall, f1, tp+fn, len(cases))
	if f1 < 0.95 {
		t.Errorf("F1 %.3f, want >= 0.95", f1)
	}
}

func TestExtractJSON(t *testing.T) {
	out, err := Extract{}.Generate(context.Background(), task.Work{Input: "mail a@b.co"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"emails":["a@b.co"],"urls":[],"phones":[],"dates":[],"numbers":[],"money":[]}`
	if out.Format != "json" || out.Text != want {
		t.Errorf("got %s %s, want %s", out.Format, out.Text, want)
	}
}

func FuzzExtract(f *testing.F) {
	f.Add("Call +1 415-555-0132 or 13800138000, $1,234.50 on 2024-03-05, https://x.io/a.")
	f.Add("2024年3月5日 ¥300 300元 5.2亿元 Dec. 3rd, 2024 www.a.cn/(x)")
	f.Fuzz(func(t *testing.T, s string) {
		ex := extractEntities(s)
		if !utf8.ValidString(s) {
			return
		}
		var back extraction
		out, err := jsonOutput(s, ex)
		if err != nil || json.Unmarshal([]byte(out.Text), &back) != nil {
			t.Fatalf("%q: answer is not JSON: %v", s, err)
		}
		for _, x := range append(append(append([]string{}, ex.Emails...), ex.URLs...), ex.Phones...) {
			if !strings.Contains(s, x) {
				t.Fatalf("%q: %q is not in the input", s, x)
			}
		}
		for _, d := range ex.Dates {
			if !strings.Contains(s, d.Text) || d.ISO == "" {
				t.Fatalf("%q: bad date %+v", s, d)
			}
		}
	})
}
