package localmodel

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// labelledDocument is a document of testdata/documents.json with the
// keywords and key sentences a person chose for it.
type labelledDocument struct {
	ID           string   `json:"id"`
	Text         string   `json:"text"`
	Keywords     []string `json:"keywords"`
	KeySentences []int    `json:"key_sentences"`
}

func labelledDocuments(t testing.TB) []labelledDocument {
	t.Helper()
	b, err := os.ReadFile("testdata/documents.json")
	if err != nil {
		t.Fatal(err)
	}
	var docs []labelledDocument
	if err := json.Unmarshal(b, &docs); err != nil {
		t.Fatal(err)
	}
	return docs
}

// foldTerm lower-cases a term and folds English plurals word by word, so
// that "Coral reefs" matches "coral reef".
func foldTerm(s string) string {
	words := strings.Fields(strings.ToLower(s))
	for i, w := range words {
		words[i] = stemEnglish(w)
	}
	return strings.Join(words, " ")
}

// keywordRecall is the share of gold keywords that some extracted keyword
// or phrase contains.
func keywordRecall(gold []string, ans keywordsAnswer) float64 {
	var got []string
	for _, k := range append(ans.Keywords, ans.Phrases...) {
		got = append(got, " "+foldTerm(k.Text)+" ")
	}
	found := 0
	for _, g := range gold {
		for _, x := range got {
			if strings.Contains(x, foldTerm(g)) {
				found++
				break
			}
		}
	}
	return float64(found) / float64(len(gold))
}

func TestKeywordsRecall(t *testing.T) {
	sum := map[string]float64{}
	n := map[string]int{}
	for _, d := range labelledDocuments(t) {
		ans, err := extractKeywords(context.Background(), d.Text, defaultKeywordCount)
		if err != nil {
			t.Fatal(err)
		}
		r := keywordRecall(d.Keywords, ans)
		lang := d.ID[:2]
		sum[lang] += r
		n[lang]++
		t.Logf("%s: recall %.2f keywords %v phrases %v", d.ID, r, ans.Keywords, ans.Phrases)
	}
	for lang, s := range sum {
		avg := s / float64(n[lang])
		t.Logf("keyword recall@8 (%s): %.3f over %d documents", lang, avg, n[lang])
		if avg < 0.6 {
			t.Errorf("%s keyword recall %.3f, want >= 0.6", lang, avg)
		}
	}
}
