package localmodel

import (
	"strings"
	"unicode/utf8"
)

// IndexTerms returns the terms of text for a search index, in order and
// with repeats: words and numbers lower-cased (English plurals and
// possessives folded to their stem), Chinese words from the built-in
// segmenter, kana one by one; stopwords, punctuation and one-letter
// Latin words are left out. It is the same tokenization the built-in
// models read text with, shared so that memory's retrieval finds what a
// keyword model would call a keyword.
func IndexTerms(text string) []string {
	toks := tokenize(text, nil)
	out := make([]string, 0, len(toks))
	for _, t := range toks {
		switch t.kind {
		case tokPunct:
			continue
		case tokWord:
			if utf8.RuneCountInString(t.norm) < 2 || isStopword(t.norm) {
				continue
			}
			out = append(out, stem(t.norm))
		case tokHan:
			if isStopword(t.norm) {
				continue
			}
			out = append(out, t.norm)
		default:
			out = append(out, t.norm)
		}
	}
	return out
}

// stem folds the commonest English inflections, so that "trips" finds
// "trip" and "Lisbon's" finds "Lisbon": a possessive, and a plural "s"
// or "ies" (not "ss", and not on short words such as "bus" or "is").
func stem(w string) string {
	w = strings.TrimSuffix(w, "'s")
	switch {
	case len(w) > 4 && strings.HasSuffix(w, "ies"):
		return w[:len(w)-3] + "y"
	case len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is"):
		return w[:len(w)-1]
	}
	return w
}
