package rules

import (
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// refKind says what a referring phrase in a step points at.
type refKind uint8

const (
	refStep    refKind = iota + 1 // an earlier step's result by name: "the summary", "翻译后的内容"
	refAll                        // every earlier result: "the results", "以上结果", "all of them"
	refPrev                       // the step just before: "the result", "them", "这个"
	refPayload                    // the request's own text: "the article", "原文"
	refImplied                    // a result no step makes yet: "translate the summary of this article"
	refWeak                       // "it", "its", "它": the request's text unless the step is sequenced
)

// ref is a referring phrase found in a step.
type ref struct {
	kind       refKind
	start, end int // the words that make the reference
	step       int // the step referred to, for refStep
	// capability makes the result of a refImplied, and alt is the runner-up
	// for when the first is the step's own capability (-1 for none).
	capability, alt int
}

// findRefs returns the referring phrases of text[start:end], given the
// steps before it, without overlaps; stronger kinds win.
func (p *Planner) findRefs(r *request, start, end int, prev []step) []ref {
	var found []ref
	found = p.englishRefs(r, start, end, prev, found)
	found = p.chineseRefs(r, start, end, prev, found)
	slices.SortStableFunc(found, func(a, b ref) int {
		if a.kind != b.kind {
			return int(a.kind) - int(b.kind)
		}
		return a.start - b.start
	})
	var out []ref
	for _, f := range found {
		if !overlaps(out, f) {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b ref) int { return a.start - b.start })
	return out
}

func overlaps(refs []ref, r ref) bool {
	for _, o := range refs {
		if r.start < o.end && o.start < r.end {
			return true
		}
	}
	return false
}

// resolve returns the latest earlier step whose capability the tokens name
// most strongly, and where the naming words end.
func (p *Planner) resolve(r *request, toks []token, prev []step) (int, int) {
	if len(prev) == 0 || len(toks) == 0 {
		return -1, -1
	}
	sc := &r.scratch
	p.ix.evidenceAll(p.ix.refCaps, toks, sc)
	best, bestEv, bestEnd := -1, float32(0), -1
	for i := len(prev) - 1; i >= 0; i-- {
		if c := prev[i].capability; sc.ev[c] > bestEv {
			best, bestEv, bestEnd = i, sc.ev[c], sc.last[c]
		}
	}
	return best, bestEnd
}

// implied resolves tokens against the titles of every capability, the
// nouns that name results, for a phrase that names a result no earlier
// step makes: the two best, by evidence.
func (p *Planner) implied(r *request, toks []token, start int) (ref, bool) {
	f := ref{kind: refImplied, start: start, capability: -1, alt: -1}
	sc := &r.scratch
	p.ix.evidenceAll(p.ix.titleCaps, toks, sc)
	var best, second float32
	for c, ev := range sc.ev {
		switch {
		case ev > best:
			f.alt, second = f.capability, best
			f.capability, best, f.end = c, ev, sc.last[c]
		case ev > second:
			f.alt, second = c, ev
		}
	}
	return f, f.capability >= 0
}

// wordsIn returns the words within [start, end); words is sorted.
func wordsIn(words []word, start, end int) []word {
	i := sort.Search(len(words), func(i int) bool { return words[i].start >= start })
	j := sort.Search(len(words), func(j int) bool { return words[j].end > end })
	if j < i {
		return nil
	}
	return words[i:j]
}

// word is a Latin word or a number of a request, lowercased, and its stem.
type word struct {
	text, stem string
	start, end int
}

func latinWords(text string, start, end int) []word {
	out := make([]word, 0, (end-start)/6)
	for i := start; i < end; {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !(unicode.IsLetter(r) || unicode.IsDigit(r)) || isCJK(r) {
			i += size
			continue
		}
		j := min(wordEnd(text, i), end)
		lower := strings.ToLower(text[i:j])
		out = append(out, word{text: lower, stem: stem(lower), start: i, end: j})
		i = j
	}
	return out
}

var (
	determiners = setOf("the", "this", "that", "these", "those", "its", "their", "your", "both", "all", "each", "every", "said", "above", "previous", "earlier")
	npStoppers  = setOf("of", "in", "into", "to", "from", "for", "with", "as", "on", "at", "by", "and", "or", "then", "but", "about", "using", "via", "than", "is", "are", "be", "please", "it", "them", "me", "so", "if")
	weakWords   = setOf("it", "its", "this", "that")
	prevWords   = setOf("them", "they", "these", "those", "both")
)

// englishRefs finds determiner phrases ("the summary", "those keywords",
// "the results") and pronouns.
func (p *Planner) englishRefs(r *request, start, end int, prev []step, found []ref) []ref {
	words := wordsIn(r.words, start, end)
	for i, w := range words {
		if determiners[w.text] {
			np := nounPhrase(r.masked, words, i)
			if r, ok := p.phraseRef(r, w, np, prev); ok {
				found = append(found, r)
				continue
			}
		}
		switch {
		case w.text == "everything" || w.text == "all" && i+2 < len(words) && words[i+1].text == "of" && words[i+2].text != "it":
			found = append(found, ref{kind: refAll, start: w.start, end: words[min(i+2, len(words)-1)].end})
		case resultNouns[w.stem]:
			found = append(found, resultRef(w, w))
		case prevWords[w.text]:
			found = append(found, ref{kind: refPrev, start: w.start, end: w.end})
		case weakWords[w.text]:
			found = append(found, ref{kind: refWeak, start: w.start, end: w.end})
		}
	}
	return found
}

// nounPhrase returns up to three words after a determiner, stopping at a
// preposition, a conjunction or punctuation.
func nounPhrase(text string, words []word, det int) []word {
	j := det + 1
	for ; j < len(words) && j-det <= 3; j++ {
		gap := text[words[j-1].end:words[j].start]
		if strings.TrimSpace(gap) != "" || npStoppers[words[j].text] || determiners[words[j].text] {
			break
		}
	}
	return words[det+1 : j]
}

// phraseRef classifies a determiner phrase: a result noun, an earlier
// step's name, or a payload noun.
func (p *Planner) phraseRef(r *request, det word, np []word, prev []step) (ref, bool) {
	if len(np) == 0 {
		return ref{}, false
	}
	for _, w := range np {
		if resultNouns[w.stem] {
			return resultRef(det, w), true
		}
	}
	toks := tokensIn(r.toks, np[0].start, np[len(np)-1].end)
	if s, end := p.resolve(r, toks, prev); s >= 0 {
		return ref{kind: refStep, start: det.start, end: end, step: s}, true
	}
	if f, ok := p.implied(r, toks, det.start); ok && det.text != "that" && f.end == np[len(np)-1].end {
		return f, true
	}
	for _, w := range np {
		if s := madeBy(r, w.stem, prev); s >= 0 {
			return ref{kind: refStep, start: det.start, end: w.end, step: s}, true
		}
	}
	for _, w := range np {
		if payloadNouns[w.stem] {
			return ref{kind: refPayload, start: det.start, end: w.end}, true
		}
	}
	return ref{}, false
}

// madeBy returns the latest earlier step that asks for a new thing of the
// noun, "a" or "an" within three words before it ("Write an email",
// "write a short story"), or -1: "the email" after it is that step's
// result, not the request's text.
func madeBy(r *request, noun string, prev []step) int {
	for i := len(prev) - 1; i >= 0; i-- {
		words := wordsIn(r.words, prev[i].start, prev[i].end)
		for k, w := range words {
			if w.stem != noun {
				continue
			}
			for j := k - 1; j >= 0 && j >= k-3; j-- {
				if words[j].text == "a" || words[j].text == "an" {
					return i
				}
			}
		}
	}
	return -1
}

func resultRef(from, noun word) ref {
	kind := refPrev
	if pluralResult[noun.text] || pluralResult[from.text] {
		kind = refAll
	}
	return ref{kind: kind, start: from.start, end: noun.end}
}
