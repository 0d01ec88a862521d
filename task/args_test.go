package task

import (
	"maps"
	"testing"
)

func TestNormaliseArgs(t *testing.T) {
	cases := []struct {
		capability string
		in, want   map[string]string
	}{
		{"translate", map[string]string{"target_language": "French"}, map[string]string{"target_lang": "French"}},
		{"translate", map[string]string{"to": "de", "from": "en"}, map[string]string{"target_lang": "de", "source_lang": "en"}},
		{"translate", map[string]string{"tgt_lang": "fr", "src_lang": "zh"}, map[string]string{"target_lang": "fr", "source_lang": "zh"}},
		{"translate", map[string]string{" Target_Language ": "ja"}, map[string]string{"target_lang": "ja"}},
		{"translate", map[string]string{"language": "es"}, map[string]string{"target_lang": "es"}},
		{"translate", map[string]string{"Target_Lang": "es"}, map[string]string{"target_lang": "es"}},
		// The own name wins; an alias it did not take stays.
		{"translate", map[string]string{"target_lang": "fr", "to": "de"}, map[string]string{"target_lang": "fr", "to": "de"}},
		// Of several aliases the first in the table wins.
		{"translate", map[string]string{"lang": "it", "target_language": "fr"}, map[string]string{"target_lang": "fr", "lang": "it"}},
		{"keywords", map[string]string{"top_k": "5"}, map[string]string{"count": "5"}},
		{"summarize", map[string]string{"num_sentences": "3"}, map[string]string{"sentences": "3"}},
		{"classify", map[string]string{"candidate_labels": "a,b"}, map[string]string{"labels": "a,b"}},
		// Other capabilities keep their args as they are.
		{"chat", map[string]string{"to": "de"}, map[string]string{"to": "de"}},
		{"translate", nil, nil},
	}
	for _, c := range cases {
		in := maps.Clone(c.in)
		got := NormaliseArgs(c.capability, in)
		if !maps.Equal(got, c.want) {
			t.Errorf("NormaliseArgs(%s, %v) = %v, want %v", c.capability, c.in, got, c.want)
		}
		if !maps.Equal(in, c.in) {
			t.Errorf("NormaliseArgs(%s, %v) changed its argument to %v", c.capability, c.in, in)
		}
	}
}

func TestPlanNormalisedLeavesTheOriginal(t *testing.T) {
	p := Plan{Tasks: []Subtask{{ID: "t1", Capability: "translate", Input: "x", Args: map[string]string{"to": "fr"}, Deps: []string{}}}}
	n := p.Normalised()
	if n.Tasks[0].Args["target_lang"] != "fr" || p.Tasks[0].Args["to"] != "fr" {
		t.Fatalf("normalised %v, original %v", n.Tasks[0].Args, p.Tasks[0].Args)
	}
}
