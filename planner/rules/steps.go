package rules

import (
	"slices"
	"sort"
	"strings"

	"github.com/taskrouter/taskrouter/task"
)

// step is one instruction of a request, mapped to a capability.
type step struct {
	fragment
	capability int     // index into the catalog index
	score      float32 // how well the step matches it
	refs       []ref
	// payload, when set, is what a step the planner added works on.
	payload *payload
	// own is where the words that can hold the step's own payloads start;
	// the context a step gains in front of its instruction holds none.
	own int
	// targets and source are the languages the step names.
	targets []string
	source  string
	// forRendering marks a translation added for a step that renders its
	// result (translatefirst.go): it takes what that step would take.
	forRendering bool
}

// ownSpan is the part of the step that holds its own payloads.
func (s step) ownSpan() fragment {
	f := s.fragment
	f.start = max(f.start, s.own)
	return f
}

// typeBonus, times the idf of a term only one capability has, is added to
// capabilities that take the type of a step's own non-text payload, so
// "what is in photo.jpg" favours one that reads images.
const typeBonus = 0.95

// steps maps the fragments of the instructions to steps. A fragment that
// matches no capability well enough is not an instruction: a sentence of
// its own is content, the text the steps work on ("Is this review
// positive? | I loved the plot."); a shorter piece joins the step before
// it ("Extract names | and dates"), or the first step when it leads ("Hi
// there, | summarize this"), without changing its capability. A fragment
// that only continues the step before with the same capability joins it
// too.
//
// It stops once it has more steps than a plan may have subtasks.
func (p *Planner) steps(r *request) []step {
	b := &stepBuilder{p: p, r: r, lead: -1, widened: -1}
	frags := split(r.joinObjects(r.masked[:r.end]))
	for k := range frags {
		if len(b.out) > p.maxSteps() {
			break
		}
		if f := frags[k]; k+1 < len(frags) && !frags[k+1].hard && isPremise(r.masked[f.start:f.end], wordsIn(r.words, f.start, f.end)) {
			// a premise is part of the question after it
			frags[k+1].start, frags[k+1].seq, frags[k+1].hard = f.start, f.seq, f.hard
			continue
		}
		b.take(frags, k)
	}
	if len(b.out) == 0 {
		return []step{p.wholeStep(r, r.toks)}
	}
	b.settle()
	for _, c := range b.content {
		r.addContent(c[0], c[1])
	}
	return b.out
}

// stepBuilder turns fragments into steps, one fragment at a time.
type stepBuilder struct {
	p         *Planner
	r         *request
	out       []step
	content   [][2]int // sentences of content
	inContent bool     // whether the last fragment was content
	lead      int      // where unmatched fragments before the first step start, or -1
	widened   int      // where the last step ends since it grew, or -1
}

func (b *stepBuilder) take(frags []fragment, k int) {
	p, r, f := b.p, b.r, frags[k]
	s := p.analyze(r, r.toks, f, b.out, -1)
	matched := s.score >= p.threshold && (p.worded(r, tokensIn(r.toks, f.start, f.end), s.capability) ||
		p.ix.caps[s.capability].holdsPlain(wordsIn(r.words, f.start, f.end)))
	alone := p.alone(r, b.out, &s, matched, frags, k)
	switch {
	case alone || matched && !p.continues(r, b.out, s):
		b.settle()
		if b.lead >= 0 {
			s = p.widen(r, r.toks, s, b.lead, s.end, b.out)
			b.lead = -1
		}
		b.out = append(b.out, s)
		b.inContent = false
	case matched: // the same work again: it joins the step before
		b.widened = f.end
	case b.inContent && !f.hard:
		b.content[len(b.content)-1][1] = f.end
	case p.isContent(r, frags, k):
		b.content = append(b.content, [2]int{f.start, f.end})
		b.inContent = true
	case len(b.out) > 0:
		b.widened = f.end
	case b.lead < 0:
		b.lead = f.start
	}
}

// settle finds the references of the last step again once it has grown;
// doing it once, not per fragment, keeps planning linear.
func (b *stepBuilder) settle() {
	if b.widened < 0 {
		return
	}
	last := b.out[len(b.out)-1]
	b.out[len(b.out)-1] = b.p.widen(b.r, b.r.toks, last, last.start, b.widened, b.out[:len(b.out)-1])
	b.widened = -1
}

// maxSteps is the most subtasks a plan may have.
func (p *Planner) maxSteps() int {
	if p.limits.MaxSubtasks > 0 {
		return p.limits.MaxSubtasks
	}
	return task.DefaultLimits.MaxSubtasks
}

// alone reports whether an unmatched fragment is a step of its own: one
// that repeats the step before without its verb takes that step's
// capability, one with a sequencing word on either side the fallback.
func (p *Planner) alone(r *request, out []step, s *step, matched bool, frags []fragment, k int) bool {
	switch {
	case matched:
		return false
	case p.gapped(r, out, *s):
		s.capability = out[len(out)-1].capability
	case len(out) > 0 && !frags[k].seq && p.worded(r, tokensIn(r.toks, s.start, s.end), out[len(out)-1].capability):
		// it asks more of the step before ("and explain it" of code)
		return false
	case len(out) > 0 && !frags[k].seq && hasType(p.ix.caps[out[len(out)-1].capability].Inputs, "prompt"):
		// more words to a step that reads the whole instruction ("You are a
		// librarian. Say hello and recommend a book, then ..."): its own
		return false
	case p.ix.fallback >= 0 && (frags[k].seq || k+1 < len(frags) && frags[k+1].seq):
		s.capability = p.ix.fallback
	default:
		return false
	}
	return true
}

// isContent reports whether unmatched fragment k is a sentence of content
// rather than part of an instruction: it stands between sentence ends
// and has a few words.
func (p *Planner) isContent(r *request, frags []fragment, k int) bool {
	f := frags[k]
	if !f.hard && !(k == 0 && len(frags) > 1 && frags[1].hard) {
		return false
	}
	n := 0
	for _, w := range wordsIn(r.words, f.start, f.end) {
		if !isDigit(w.text[0]) {
			n++
		}
	}
	cjk := 0
	for _, c := range r.masked[f.start:f.end] {
		if isCJK(c) {
			cjk++
		}
	}
	return n >= 3 || cjk >= 6
}

// widen stretches step s over [start, end), keeping its capability and
// finding its references again; what it gains in front is context, not a
// payload of its own.
func (p *Planner) widen(r *request, toks []token, s step, start, end int, prev []step) step {
	f := s.fragment
	f.start, f.end = start, end
	w := p.analyze(r, toks, f, prev, s.capability)
	w.score, w.own = s.score, s.own
	return w
}

// wholeStep is the whole of the instructions as one step, on the fallback
// capability when nothing matches well enough.
func (p *Planner) wholeStep(r *request, toks []token) step {
	s := p.analyze(r, toks, fragment{start: 0, end: r.end}, nil, -1)
	if s.score < p.threshold && p.ix.fallback >= 0 {
		s.capability = p.ix.fallback
	}
	return s
}

// analyze finds a fragment's references to earlier steps and its best
// capability (or takes fixed, when not negative), scoring it without the
// words that refer to earlier results. A reference to a step of the very
// capability chosen is the step's own verb ("把这个翻译成英文"), not a
// reference, and is dropped.
func (p *Planner) analyze(r *request, toks []token, f fragment, prev []step, fixed int) step {
	span := tokensIn(toks, f.start, f.end)
	refs := p.findRefs(r, f.start, f.end, prev)
	c, score := p.rateOr(r, span, f, refs, prev, fixed)
	kept := refs[:0:0]
	for _, rf := range refs {
		switch {
		case rf.kind == refStep && prev[rf.step].capability == c:
		case rf.kind == refImplied && rf.capability == c && rf.alt < 0:
		default:
			kept = append(kept, rf)
		}
	}
	if len(kept) != len(refs) {
		refs = kept
		c, score = p.rateOr(r, span, f, refs, prev, fixed)
	}
	for k := range refs {
		if refs[k].kind == refImplied && refs[k].capability == c {
			refs[k].capability = refs[k].alt
		}
	}
	if c < 0 {
		c = p.ix.fallback
	}
	targets, source := languages(r.masked[:f.end], spansIn(r.langs, f.start, f.end))
	return step{fragment: f, capability: c, score: score, refs: refs, own: f.start, targets: targets, source: source}
}

// rateOr is rate, unless the capability is fixed already.
func (p *Planner) rateOr(r *request, span []token, f fragment, refs []ref, prev []step, fixed int) (int, float32) {
	if fixed >= 0 {
		return fixed, 0
	}
	return p.rate(r, span, f, refs, prev)
}

// rate scores the capabilities for a fragment and returns the best one.
func (p *Planner) rate(r *request, span []token, f fragment, refs []ref, prev []step) (int, float32) {
	// target languages and counts say how, not what: "answer in Chinese"
	// is a question, not a translation, and "in 50 words" no arithmetic
	directional, counts := spansIn(r.directional, f.start, f.end), spansIn(r.counts, f.start, f.end)
	qualifiers := spansIn(r.qualifiers, f.start, f.end)
	ids := spansIn(r.ids, f.start, f.end)
	keep := func(t token) bool {
		for _, rf := range refs {
			if rf.kind != refWeak && rf.kind != refImplied && t.start >= rf.start && t.end <= rf.end {
				return false
			}
		}
		return !within(directional, t) && !within(counts, t) && !within(qualifiers, t) && !within(ids, t)
	}
	scores := p.ix.score(span, keep, &r.scratch)
	p.ix.plainBonus(scores, wordsIn(r.words, f.start, f.end))
	if len(qualifiers) > 0 {
		p.weighQuantities(scores, r, span, qualifiers)
	}
	if p.ix.lean > 0 && asks(r.masked[f.start:f.end]) {
		for _, t := range questionTerms {
			p.ix.addTerm(scores, t, aliasFactor*p.ix.lean)
		}
	}
	for _, pl := range r.payloads {
		if pl.shared || pl.start < f.start || pl.end > f.end || pl.typ == "text" {
			continue
		}
		for i, c := range p.ix.caps {
			if hasType(c.Inputs, pl.typ) && scores[i] > 0 {
				scores[i] += typeBonus * p.ix.maxIDF
			}
		}
	}
	k := p.kindsOf(r, f, prev)
	p.weighKinds(scores, k)
	p.weighReferred(scores, refs, prev, k)
	return p.ix.best(scores)
}

// asks reports whether a piece of a request is a question.
func asks(s string) bool {
	s = strings.TrimRight(s, " \t\r\n\"'”’)")
	return strings.HasSuffix(s, "?") || strings.HasSuffix(s, "？")
}

// continues reports whether s only goes on with the step before it: the
// same capability, not sequenced after it nor referring to it, without a
// payload or a target language of its own that would make it a second
// subtask ("Extract the names | and the dates", "Which is larger, 9.11 or
// 9.9? | Explain your reasoning").
func (p *Planner) continues(r *request, out []step, s step) bool {
	if len(out) == 0 || s.seq || refersToStep(s) {
		return false
	}
	last := out[len(out)-1]
	if last.capability != s.capability {
		return false
	}
	if r.ownPayload(last.ownSpan()) >= 0 && r.ownPayload(s.ownSpan()) >= 0 {
		return false
	}
	return last.targets == nil || s.targets == nil || slices.Equal(last.targets, s.targets)
}

// gapped reports whether an unmatched fragment repeats the step before
// it with another payload or target language, its verb left out:
// "Translate 'A' into French and 'B' into German", "Summarize 'A' and
// 'B'", "Translate into German, then into French".
func (p *Planner) gapped(r *request, out []step, s step) bool {
	if len(out) == 0 || s.hard {
		return false
	}
	last := out[len(out)-1]
	if r.ownPayload(last.ownSpan()) >= 0 && r.ownPayload(s.fragment) >= 0 {
		return true
	}
	return last.targets != nil && s.targets != nil
}

// spansIn returns the spans within [start, end); spans is sorted.
func spansIn(spans [][2]int, start, end int) [][2]int {
	i := sort.Search(len(spans), func(i int) bool { return spans[i][0] >= start })
	j := i
	for j < len(spans) && spans[j][1] <= end {
		j++
	}
	return spans[i:j]
}

// within reports whether t lies inside one of spans.
func within(spans [][2]int, t token) bool {
	for _, s := range spans {
		if t.start >= s[0] && t.end <= s[1] {
			return true
		}
	}
	return false
}

// worded reports whether some word of span, not only its numbers and
// operators, speaks for capability c, itself or by an alias: "9.11 or
// 9.9?" is no instruction. A word for a kind of data speaks only when it
// asks for the data to be made ("a picture of a storm"): "I have a photo"
// says what there is, not what to do.
func (p *Planner) worded(r *request, span []token, c int) bool {
	for _, t := range span {
		if t.kind == kindNumber || t.kind == kindOperator || kindNouns[t.term] != "" && !r.madeAt(t.start) {
			continue
		}
		if p.ix.has(t.term, c) {
			return true
		}
		if t.kind != kindWord {
			continue
		}
		for _, a := range aliases[t.term] {
			if p.ix.has(a, c) {
				return true
			}
		}
	}
	return false
}

// tokensIn returns the tokens within [start, end); toks is sorted.
func tokensIn(toks []token, start, end int) []token {
	i := sort.Search(len(toks), func(i int) bool { return toks[i].start >= start })
	j := sort.Search(len(toks), func(j int) bool { return toks[j].start >= end })
	out := toks[i:j]
	for len(out) > 0 && out[len(out)-1].end > end {
		out = out[:len(out)-1]
	}
	return out
}

func hasType(types []string, t string) bool {
	for _, x := range types {
		if x == t {
			return true
		}
	}
	return false
}
