package localmodel

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

// TestTextStatsCounts checks the counts against ones made by hand.
func TestTextStatsCounts(t *testing.T) {
	cases := []struct {
		in                                         string
		words, sentences, chars, noSpace, han, par int
		lang                                       string
	}{
		{"The quick brown fox jumps over the lazy dog.", 9, 1, 44, 36, 0, 1, "en"},
		{"Dr. Smith paid $3.50 for coffee. It was great!", 9, 2, 46, 38, 0, 1, "en"},
		{"我爱北京天安门。", 7, 1, 8, 8, 7, 1, "zh"},
		{"今天天气很好！我们去公园吧？", 12, 2, 14, 14, 12, 1, "zh"},
		{"我在用Go语言写代码。It's fun.", 11, 2, 20, 19, 8, 1, "zh"},
		{"First line.\n\nSecond paragraph here.", 5, 2, 35, 30, 0, 2, "en"},
		{"これはペンです。", 7, 1, 8, 8, 0, 1, "ja"},
	}
	right := 0
	for _, c := range cases {
		got := countText(c.in)
		want := textStats{Words: c.words, Sentences: c.sentences, Characters: c.chars, CharactersNoSpaces: c.noSpace,
			HanCharacters: c.han, Paragraphs: c.par, Language: c.lang, ReadingTimeSeconds: got.ReadingTimeSeconds}
		if got != want {
			t.Errorf("%q:\n got %+v\nwant %+v", c.in, got, want)
			continue
		}
		right++
	}
	t.Logf("textstats: %d/%d texts counted exactly as by hand", right, len(cases))
}

func TestTextStatsReadingTime(t *testing.T) {
	cases := []struct {
		in   string
		want int
	}{
		{strings.Repeat("word ", wordsPerMinute), 60},
		{strings.Repeat("字", hanCharsPerMinute*2), 120},
		{"one", 1},
	}
	for _, c := range cases {
		if got := countText(c.in).ReadingTimeSeconds; got != c.want {
			t.Errorf("%.20q: %d s, want %d", c.in, got, c.want)
		}
	}
}

func TestTextStatsJSON(t *testing.T) {
	out, err := TextStats{}.Generate(context.Background(), task.Work{Input: "你好，世界。Hello world."}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out.Text), &got); err != nil || out.Format != "json" {
		t.Fatalf("answer %q is not JSON: %v", out.Text, err)
	}
	for _, k := range []string{"words", "sentences", "characters", "reading_time_seconds", "language"} {
		if _, ok := got[k]; !ok {
			t.Errorf("answer %s lacks %q", out.Text, k)
		}
	}
	if got["words"] != 6.0 {
		t.Errorf("words = %v, want 6", got["words"])
	}
}
