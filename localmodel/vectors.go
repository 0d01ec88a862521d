package localmodel

import (
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// A termVector is a sparse vector over term ids, sorted by id.
type termVector []termWeight

type termWeight struct {
	id     int
	weight float64
}

// cosine returns the cosine similarity of two vectors.
func cosine(a, b termVector) float64 {
	dot, i, j := 0.0, 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i].id < b[j].id:
			i++
		case a[i].id > b[j].id:
			j++
		default:
			dot += a[i].weight * b[j].weight
			i, j = i+1, j+1
		}
	}
	if dot == 0 {
		return 0
	}
	return dot / (a.norm() * b.norm())
}

func (v termVector) norm() float64 {
	s := 0.0
	for _, t := range v {
		s += t.weight * t.weight
	}
	return math.Sqrt(s)
}

// tfidfVectors turns term lists (one per sentence) into TF-IDF vectors,
// taking each sentence as a document: a term in every sentence weighs little.
func tfidfVectors(docs [][]string) []termVector {
	ids := map[string]int{}
	df := []int{}
	tfs := make([]map[int]int, len(docs))
	for d, terms := range docs {
		tfs[d] = map[int]int{}
		for _, t := range terms {
			id, ok := ids[t]
			if !ok {
				id = len(df)
				ids[t] = id
				df = append(df, 0)
			}
			if tfs[d][id] == 0 {
				df[id]++
			}
			tfs[d][id]++
		}
	}
	out := make([]termVector, len(docs))
	for d, tf := range tfs {
		v := make(termVector, 0, len(tf))
		for id, n := range tf {
			idf := math.Log(1 + float64(len(docs))/float64(df[id]))
			v = append(v, termWeight{id, (1 + math.Log(float64(n))) * idf})
		}
		slices.SortFunc(v, func(a, b termWeight) int { return a.id - b.id })
		out[d] = v
	}
	return out
}

// contentTerms returns the terms of text that carry its topic: words that
// are not stopwords, with English plurals folded, and the character bigrams
// of Chinese text (the usual indexing unit of Chinese retrieval, which
// needs no dictionary), leaving out those with a grammatical character.
func contentTerms(text string) []string {
	var out []string
	for _, t := range tokenize(text, nil) {
		switch {
		case t.kind == tokHan:
			out = appendHanBigrams(out, text, t)
		case t.kind == tokPunct || t.kind == tokNumber || isStopword(t.norm):
		default:
			out = append(out, stemEnglish(t.norm))
		}
	}
	return out
}

// appendHanBigrams adds the bigrams that start in a Chinese token; the last
// one may reach into the next character of text.
func appendHanBigrams(out []string, text string, t token) []string {
	end := t.start + len(t.text)
	for i := t.start; i < end; {
		a, size := utf8.DecodeRuneInString(text[i:])
		b, bsize := utf8.DecodeRuneInString(text[i+size:])
		if isHan(b) && !strings.ContainsRune(hanBoundary, a) && !strings.ContainsRune(hanBoundary, b) {
			out = append(out, text[i:i+size+bsize])
		}
		i += size
	}
	return out
}

// stemEnglish folds regular English plurals and possessives onto the
// singular ("studies" -> "study", "models" -> "model", "Anna's" -> "anna").
// It leaves words that only look plural ("bus", "analysis", "glass") alone.
func stemEnglish(w string) string {
	w = strings.TrimSuffix(w, "'s")
	switch {
	case len(w) <= 3 || !isASCIILetters(w):
		return w
	case strings.HasSuffix(w, "ies") && len(w) > 4:
		return w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "sses"), strings.HasSuffix(w, "xes"), strings.HasSuffix(w, "ches"), strings.HasSuffix(w, "shes"):
		return w[:len(w)-2]
	case strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is"):
		return w[:len(w)-1]
	}
	return w
}

func isASCIILetters(w string) bool {
	for i := 0; i < len(w); i++ {
		if c := w[i]; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}
