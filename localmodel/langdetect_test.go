package localmodel

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// labelled reads a code<TAB>text file from testdata, skipping comments.
func labelled(t testing.TB, name string) [][2]string {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][2]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		label, text, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("%s: line %q has no tab", name, line)
		}
		out = append(out, [2]string{label, text})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDetectLanguageAccuracy(t *testing.T) {
	set := labelled(t, "langid.tsv")
	langs := map[string]bool{}
	right := 0
	for _, c := range set {
		langs[c[0]] = true
		got := detectLanguage(c[1])[0]
		if got.Code == c[0] {
			right++
			continue
		}
		t.Logf("want %s, got %s (%.2f): %s", c[0], got.Code, got.Confidence, c[1])
	}
	acc := float64(right) / float64(len(set))
	t.Logf("language identification: %d/%d = %.3f over %d languages", right, len(set), acc, len(langs))
	if len(set) < 200 || len(langs) < 20 {
		t.Fatalf("the labelled set has %d sentences in %d languages; want >= 200 in >= 20", len(set), len(langs))
	}
	if acc < 0.95 {
		t.Errorf("accuracy %.3f, want >= 0.95", acc)
	}
}
