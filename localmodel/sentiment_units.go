package localmodel

import "strings"

// unitKind is the role of a unit of text in sentiment scoring.
type unitKind uint8

const (
	unitOther unitKind = iota
	unitSentiment
	unitNegator
	unitIntensifier
	unitContrast
	unitBreak // punctuation: ends the reach of a negator
)

// A sentimentUnit is a word or Chinese term with its role.
type sentimentUnit struct {
	text    string
	kind    unitKind
	valence float64 // the valence of a sentiment word, the factor of an intensifier
	weight  float64 // the contrast weight of its clause
}

// sentimentUnits splits text into units: English words and phrases from
// the tokenizer, and Chinese terms by longest match.
func sentimentUnits(text string) []sentimentUnit {
	var out []sentimentUnit
	toks := tokenize(text, nil)
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch t.kind {
		case tokHan, tokKana:
			j := i
			for j+1 < len(toks) && (toks[j+1].kind == tokHan || toks[j+1].kind == tokKana) && toks[j+1].start == toks[j].start+len(toks[j].text) {
				j++
			}
			end := toks[j].start + len(toks[j].text)
			out = appendHanUnits(out, text[t.start:end])
			i = j
		case tokPunct:
			out = append(out, sentimentUnit{text: t.text, kind: unitBreak, weight: 1})
		default:
			u, n := englishUnit(toks[i:])
			out = append(out, u)
			i += n - 1
		}
	}
	return out
}

// englishUnit reads the unit at the start of toks: the longest lexicon
// phrase, or one word. It returns the unit and how many tokens it took.
func englishUnit(toks []token) (sentimentUnit, int) {
	lex := enValences()
	for n := min(lex.longest, len(toks)); n > 1; n-- {
		words := make([]string, n)
		for k := range words {
			words[k] = toks[k].norm
		}
		phrase := strings.Join(words, " ")
		if v, ok := lex.terms[phrase]; ok {
			return sentimentUnit{text: phrase, kind: unitSentiment, valence: v, weight: 1}, n
		}
	}
	w := toks[0].norm
	u := sentimentUnit{text: toks[0].text, weight: 1}
	switch {
	case enNegators.has(w) || strings.HasSuffix(w, "n't"):
		u.kind = unitNegator
	case enContrast.has(w):
		u.kind = unitContrast
	case intensifiers[w] != 0:
		u.kind, u.valence = unitIntensifier, intensifiers[w]
	default:
		if v, ok := enValence(w); ok {
			u.kind, u.valence = unitSentiment, v
		}
	}
	return u, 1
}

// appendHanUnits matches a run of Chinese text longest-first against the
// lexicon, negators, intensifiers and contrast words; other characters
// become units of their own.
func appendHanUnits(out []sentimentUnit, run string) []sentimentUnit {
	lex := zhValences()
	offs := runeOffsets(run)
	n := len(offs) - 1
	for i := 0; i < n; {
		u, l := sentimentUnit{text: run[offs[i]:offs[i+1]], weight: 1}, 1
		for k := min(max(lex.longest, 4), n-i); k >= 1; k-- {
			w := run[offs[i]:offs[i+k]]
			if m, ok := hanUnit(w); ok {
				u, l = m, k
				break
			}
		}
		out = append(out, u)
		i += l
	}
	return out
}

// hanUnit classifies a Chinese term, if it is one the scorer knows.
func hanUnit(w string) (sentimentUnit, bool) {
	u := sentimentUnit{text: w, weight: 1}
	switch {
	case zhNegators.has(w):
		u.kind = unitNegator
	case zhContrast.has(w):
		u.kind = unitContrast
	case intensifiers[w] != 0:
		u.kind, u.valence = unitIntensifier, intensifiers[w]
	default:
		v, ok := zhValences().terms[w]
		if !ok {
			return u, false
		}
		u.kind, u.valence = unitSentiment, v
	}
	return u, true
}
