package localmodel

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

func TestSentimentAccuracy(t *testing.T) {
	set := labelled(t, "sentiment.tsv")
	right, zh, en := 0, 0, 0
	for _, c := range set {
		if isHan(firstRune(c[1])) {
			zh++
		} else {
			en++
		}
		got := rateSentiment(c[1])
		if got.Label == c[0] {
			right++
			continue
		}
		t.Logf("want %s, got %s (%.2f %v): %s", c[0], got.Label, got.Score, got.Terms, c[1])
	}
	acc := float64(right) / float64(len(set))
	t.Logf("sentiment accuracy: %d/%d = %.3f (%d English, %d Chinese)", right, len(set), acc, en, zh)
	if len(set) < 60 || en < 20 || zh < 20 {
		t.Fatalf("the labelled set has %d sentences (%d en, %d zh); want >= 60 in both languages", len(set), en, zh)
	}
	if acc < 0.85 {
		t.Errorf("accuracy %.3f, want >= 0.85", acc)
	}
}

func TestSentimentRules(t *testing.T) {
	cases := []struct {
		in   string
		want string
	}{
		{"good", "positive"},
		{"not good", "negative"},
		{"not bad", "positive"},
		{"好", "positive"},
		{"不好", "negative"},
		{"不错", "positive"},
		{"不太好", "negative"},
		{"没有问题", "positive"},
		{"nice screen but terrible battery", "negative"},
		{"屏幕很漂亮，但是电池太差", "negative"},
		{"The box is blue.", "neutral"},
	}
	for _, c := range cases {
		if got := rateSentiment(c.in); got.Label != c.want {
			t.Errorf("%q: got %s (%.2f %v), want %s", c.in, got.Label, got.Score, got.Terms, c.want)
		}
	}
	if a, b := rateSentiment("good").Score, rateSentiment("very good").Score; !(b > a) {
		t.Errorf("very good (%.3f) should score above good (%.3f)", b, a)
	}
	if a, b := rateSentiment("好").Score, rateSentiment("非常好").Score; !(b > a) {
		t.Errorf("非常好 (%.3f) should score above 好 (%.3f)", b, a)
	}
	if a, b := rateSentiment("not good").Score, rateSentiment("not very good").Score; !(b > a) {
		t.Errorf("not very good (%.3f) should be milder than not good (%.3f)", b, a)
	}
}

func TestSentimentJSON(t *testing.T) {
	out, err := Sentiment{}.Generate(context.Background(), task.Work{Input: "I love it!"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ans sentimentAnswer
	if err := json.Unmarshal([]byte(out.Text), &ans); err != nil || out.Format != "json" || ans.Label != "positive" || ans.Score <= 0 || ans.Score > 1 {
		t.Errorf("got %s (%v)", out.Text, err)
	}
}
