package rules

import (
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/taskrouter/taskrouter/task"
)

// BM25 parameters and field weights of the catalog index. A capability is
// one document; its name, keywords and titles say more about it than its
// prose, so they count several times.
const (
	bm25K1        = 1.2
	bm25B         = 0.6
	weightName    = 3
	weightKeyword = 3
	weightTitle   = 2
	weightText    = 1
	unigramFactor = 0.3 // a lone CJK character is weak evidence
	phraseFactor  = 0.6 // share of a phrase's idf added when all of it matches
	numberFactor  = 0.5 // a number says little about the work on its own
	aliasFactor   = 0.5 // a word's alias counts for less than the word
	weightType    = 1   // the types a capability reads and makes
)

// capInfo is what the planner knows about one capability.
type capInfo struct {
	task.Capability
	// refTerms are the terms that name the capability's result (keywords,
	// name and titles), used to resolve "the summary" to a summarize step;
	// titleTerms are those of the titles alone.
	refTerms, titleTerms map[string]bool
	phrases              [][]string // multi-term keywords, matched in order
	// plain are the keywords made of stopwords alone ("you are a"), as
	// lowercase words, which tokens cannot match
	plain [][]string
	// readsText says the capability reads some type that is not binary
	// data: text, a prompt, JSON.
	readsText bool
}

type posting struct {
	capability int
	weight     float32
}

// index is the catalog, precomputed for matching: BM25 term weights per
// capability and keyword phrases. It is read-only after construction.
type index struct {
	caps     []capInfo
	postings map[string][]posting
	idf      map[string]float32
	maxIDF   float32 // the idf of a term only one capability has
	// plainCaps are the capabilities with keywords of stopwords alone.
	plainCaps []int
	// conversions are, by binary kind, the binary kinds some capability
	// makes of it.
	conversions map[string][]string
	// lean is the share of capabilities with neither examples nor
	// keywords: what the catalog does not say in the words of requests.
	lean     float32
	fallback int // index of the fallback capability, or -1 for none
	// refCaps and titleCaps list, by term, the capabilities whose
	// reference terms or titles hold it.
	refCaps, titleCaps map[string][]int
	// phrases are the multi-term keywords, filed by first term.
	phrases      []phrase
	phraseStarts map[string][]int
}

// phrase is a keyword of several terms, and what matching it adds.
type phrase struct {
	terms      []string
	capability int
	bonus      float32
}

func newIndex(cat *task.Catalog, fallback string) (*index, error) {
	all := cat.Plannable() // direct capabilities are asked for by endpoint, never planned
	ix := &index{postings: map[string][]posting{}, idf: map[string]float32{}, fallback: -1}
	tfs := make([]map[string]float64, len(all))
	lengths := make([]float64, len(all))
	for i, c := range all {
		info, tf, length := describe(c)
		ix.caps = append(ix.caps, info)
		tfs[i], lengths[i] = tf, length
		if c.Name == fallback {
			ix.fallback = i
		}
	}
	if ix.fallback < 0 && fallback != "" {
		return nil, task.Errorf(task.CodeNotFound, "the fallback capability %q is not in the catalog; add it or choose another with the fallback option", fallback)
	}
	ix.weigh(tfs, lengths)
	for _, c := range ix.caps {
		if len(c.Examples) == 0 && len(c.Keywords) == 0 {
			ix.lean++
		}
	}
	ix.lean /= float32(len(ix.caps))
	ix.conversions = map[string][]string{}
	for i, c := range ix.caps {
		if len(c.plain) > 0 {
			ix.plainCaps = append(ix.plainCaps, i)
		}
		for _, in := range c.Inputs {
			for _, out := range c.Outputs {
				if task.IsBinaryType(in) && task.IsBinaryType(out) && in != out && !slices.Contains(ix.conversions[in], out) {
					ix.conversions[in] = append(ix.conversions[in], out)
				}
			}
		}
	}
	ix.phraseStarts = map[string][]int{}
	for i, c := range ix.caps {
		for _, terms := range c.phrases {
			ph := phrase{terms: terms, capability: i}
			for _, t := range terms {
				ph.bonus += phraseFactor * ix.idf[t]
			}
			ix.phraseStarts[terms[0]] = append(ix.phraseStarts[terms[0]], len(ix.phrases))
			ix.phrases = append(ix.phrases, ph)
		}
	}
	ix.refCaps, ix.titleCaps = map[string][]int{}, map[string][]int{}
	for i, c := range ix.caps {
		for _, t := range slices.Sorted(maps.Keys(c.refTerms)) {
			ix.refCaps[t] = append(ix.refCaps[t], i)
		}
		for _, t := range slices.Sorted(maps.Keys(c.titleTerms)) {
			ix.titleCaps[t] = append(ix.titleCaps[t], i)
		}
	}
	return ix, nil
}

// describe builds a capability's weighted term frequencies and its
// reference terms and phrases.
func describe(c task.Capability) (capInfo, map[string]float64, float64) {
	info := capInfo{Capability: c, refTerms: map[string]bool{}, titleTerms: map[string]bool{}}
	info.readsText = canRead(c, nil)
	tf := map[string]float64{}
	length := 0.0
	add := func(text string, weight float64, ref map[string]bool) []string {
		var seq []string
		for _, t := range tokenize(text, nil) {
			w := weight
			if t.kind == kindUnigram {
				w *= unigramFactor
			} else {
				seq = append(seq, t.term)
			}
			tf[t.term] += w
			length += w
			if ref != nil && !payloadNouns[t.term] && !resultNouns[t.term] {
				ref[t.term] = true
			}
		}
		return seq
	}
	add(strings.NewReplacer("_", " ", "-", " ").Replace(c.Name), weightName, info.refTerms)
	for _, k := range c.Keywords {
		if seq := add(k, weightKeyword, info.refTerms); len(seq) > 1 {
			info.phrases = append(info.phrases, seq)
		} else if len(seq) == 0 && len(strings.Fields(k)) > 1 && isLatin(k) {
			info.plain = append(info.plain, strings.Fields(strings.ToLower(k)))
		}
	}
	for _, t := range sortedValues(c.Titles) {
		add(t, weightTitle, info.titleTerms)
	}
	for t := range info.titleTerms {
		info.refTerms[t] = true
	}
	add(strings.Join(c.Inputs, " ")+" "+strings.Join(c.Outputs, " "), weightType, nil)
	add(c.Description, weightText, nil)
	for _, e := range c.Examples {
		add(e, weightText, nil)
	}
	return info, tf, length
}

// weigh turns term frequencies into BM25 weights.
func (ix *index) weigh(tfs []map[string]float64, lengths []float64) {
	n := float64(len(tfs))
	avg := 0.0
	df := map[string]int{}
	for i, tf := range tfs {
		avg += lengths[i] / n
		for t := range tf {
			df[t]++
		}
	}
	for t, d := range df {
		ix.idf[t] = float32(math.Log(1 + (n-float64(d)+0.5)/(float64(d)+0.5)))
	}
	ix.maxIDF = float32(math.Log(1 + (n-0.5)/1.5))
	for i, tf := range tfs {
		norm := bm25K1 * (1 - bm25B + bm25B*lengths[i]/avg)
		for _, t := range slices.Sorted(maps.Keys(tf)) {
			w := float64(ix.idf[t]) * tf[t] * (bm25K1 + 1) / (tf[t] + norm)
			ix.postings[t] = append(ix.postings[t], posting{capability: i, weight: float32(w)})
		}
	}
}

// scratch is the working memory of score, kept per request so that
// matching allocates little; it is never shared between goroutines.
type scratch struct {
	terms  []string        // the distinct terms seen, while few
	seen   map[string]bool // the distinct terms seen, once many
	seq    []string
	scores []float32
	ev     []float32 // evidence per capability
	last   []int     // where each capability's evidence ends
	strong []bool    // whether it holds more than unigrams
	// matched marks the phrases already counted
	matched []bool
}

// seenBefore reports whether term was seen in this scoring, and records
// it: a list while the terms are few, a map beyond.
func (sc *scratch) seenBefore(term string) bool {
	if sc.seen == nil && len(sc.terms) < 32 {
		if slices.Contains(sc.terms, term) {
			return true
		}
		sc.terms = append(sc.terms, term)
		return false
	}
	if sc.seen == nil {
		sc.seen = make(map[string]bool, 64)
	}
	if len(sc.seen) == 0 {
		for _, t := range sc.terms {
			sc.seen[t] = true
		}
	}
	if sc.seen[term] {
		return true
	}
	sc.seen[term] = true
	return false
}

// score rates every capability against the tokens for which keep is true.
// Each distinct term counts once; phrases that appear whole add a bonus.
// The result is valid until the next call with the same scratch.
func (ix *index) score(toks []token, keep func(token) bool, sc *scratch) []float32 {
	if sc == nil {
		sc = &scratch{}
	}
	clear(sc.seen)
	sc.terms = sc.terms[:0]
	sc.scores = resize(sc.scores, len(ix.caps))
	sc.seq = sc.seq[:0]
	for _, t := range toks {
		if !keep(t) {
			continue
		}
		if t.kind != kindUnigram {
			sc.seq = append(sc.seq, t.term)
		}
		if sc.seenBefore(t.term) {
			continue
		}
		factor := float32(1)
		switch t.kind {
		case kindUnigram:
			factor = unigramFactor
		case kindNumber:
			factor = numberFactor
		}
		for _, p := range ix.postings[t.term] {
			sc.scores[p.capability] += factor * p.weight
		}
		if t.kind == kindWord {
			for _, a := range aliases[t.term] {
				if !sc.seenBefore(a) {
					ix.addTerm(sc.scores, a, aliasFactor)
				}
			}
		}
	}
	ix.phraseBonus(sc)
	return sc.scores
}

// addTerm adds a term's weights, times factor, to scores.
func (ix *index) addTerm(scores []float32, term string, factor float32) {
	for _, p := range ix.postings[term] {
		scores[p.capability] += factor * p.weight
	}
}

// resize returns s with length n, zeroed, reusing its memory.
func resize[T any](s []T, n int) []T {
	s = slices.Grow(s[:0], n)[:n]
	clear(s)
	return s
}

// phraseBonus adds to sc.scores the bonus of every keyword phrase that
// appears whole in sc.seq, once per phrase.
func (ix *index) phraseBonus(sc *scratch) {
	sc.matched = resize(sc.matched, len(ix.phrases))
	for i, t := range sc.seq {
		for _, k := range ix.phraseStarts[t] {
			ph := ix.phrases[k]
			if !sc.matched[k] && i+len(ph.terms) <= len(sc.seq) && slices.Equal(sc.seq[i:i+len(ph.terms)], ph.terms) {
				sc.matched[k] = true
				sc.scores[ph.capability] += ph.bonus
			}
		}
	}
}

// best returns the highest-scoring capability other than the fallback, and
// its score; ties go to the capability listed first.
func (ix *index) best(scores []float32) (int, float32) {
	bi, bs := -1, float32(0)
	for i, s := range scores {
		if i != ix.fallback && s > bs {
			bi, bs = i, s
		}
	}
	return bi, bs
}

// refEvidence is how strongly tokens name capability c's result: the idf
// of its reference terms among them, and where the last one ends.
// Unigrams alone are not evidence.
func (ix *index) refEvidence(c int, toks []token) (float32, int) {
	return ix.evidence(ix.caps[c].refTerms, toks)
}

// titleEvidence is refEvidence with the terms of c's titles alone.
func (ix *index) titleEvidence(c int, toks []token) (float32, int) {
	return ix.evidence(ix.caps[c].titleTerms, toks)
}

func (ix *index) evidence(terms map[string]bool, toks []token) (float32, int) {
	ev, last := float32(0), -1
	strong := false
	for _, t := range toks {
		if !terms[t.term] {
			continue
		}
		w := ix.idf[t.term]
		if t.kind == kindUnigram {
			w *= unigramFactor
		} else {
			strong = true
		}
		ev += w
		if t.end > last {
			last = t.end
		}
	}
	if !strong {
		return 0, -1
	}
	return ev, last
}

// evidenceAll computes, for every capability, refEvidence (inv is
// refCaps) or titleEvidence (inv is titleCaps) in one pass over the
// tokens. Evidence of unigrams alone is zeroed.
func (ix *index) evidenceAll(inv map[string][]int, toks []token, sc *scratch) {
	n := len(ix.caps)
	sc.ev, sc.last, sc.strong = resize(sc.ev, n), resize(sc.last, n), resize(sc.strong, n)
	for _, t := range toks {
		for _, c := range inv[t.term] {
			w := ix.idf[t.term]
			if t.kind == kindUnigram {
				w *= unigramFactor
			} else {
				sc.strong[c] = true
			}
			sc.ev[c] += w
			sc.last[c] = max(sc.last[c], t.end)
		}
	}
	for c := range sc.ev {
		if !sc.strong[c] {
			sc.ev[c], sc.last[c] = 0, -1
		}
	}
}

// has reports whether capability c's document holds term.
func (ix *index) has(term string, c int) bool {
	for _, ps := range ix.postings[term] {
		if ps.capability == c {
			return true
		}
	}
	return false
}

// plainBonus adds, for every keyword of stopwords alone that the words
// hold in a row ("You are a pirate" holds "you are a"), what a keyword of
// one term only one capability has would add.
func (ix *index) plainBonus(scores []float32, words []word) {
	for _, i := range ix.plainCaps {
		if ix.caps[i].holdsPlain(words) {
			scores[i] += ix.maxIDF * weightKeyword / 2
		}
	}
}

// holdsPlain reports whether words hold one of the capability's keywords
// of stopwords alone, in a row.
func (c capInfo) holdsPlain(words []word) bool {
	for _, k := range c.plain {
		for i := 0; i+len(k) <= len(words); i++ {
			if slices.EqualFunc(words[i:i+len(k)], k, func(w word, s string) bool { return w.text == s }) {
				return true
			}
		}
	}
	return false
}

// isLatin reports whether s holds no CJK character.
func isLatin(s string) bool {
	for _, r := range s {
		if isCJK(r) {
			return false
		}
	}
	return true
}
