package rules

import "slices"

// shareOrphans makes every payload that lies outside all steps a shared
// one: in "Is this positive? 'I love it'" the quote follows the question.
func (r *request) shareOrphans(steps []step) {
	for k := range r.payloads {
		pl := &r.payloads[k]
		inside := slices.ContainsFunc(steps, func(s step) bool { o := s.ownSpan(); return pl.start >= o.start && pl.end <= o.end })
		if !inside {
			pl.shared = true
		}
	}
}

// convert adds a step wherever a step's payload is of a type its
// capability cannot read and no earlier step produces one it can: the
// catalog's best converter from that type goes first. "Translate the text
// in menu.jpg" becomes a step that reads images (OCR, say) and then the
// translation.
func (p *Planner) convert(r *request, steps []step) []step {
	for i := 0; i < len(steps); i++ {
		s := steps[i]
		if refersToStep(s) {
			continue
		}
		pl := p.payloadFor(r, steps, i)
		if pl == nil || p.accepts(s.capability, pl.typ) || p.producer(steps, i) >= 0 || !pl.shared && pl.start >= s.end {
			continue // a later step's file is no reason to convert for this one
		}
		c := p.converter(r, s, pl)
		if c < 0 {
			continue
		}
		// one conversion per file: "join a.csv and b.csv" loads both
		files := r.ownPayloads(s.ownSpan())
		if len(files) < 2 || len(files)+len(steps) > p.maxSteps() || slices.ContainsFunc(files, func(f payload) bool { return f.typ != files[0].typ }) {
			files = []payload{*pl}
		}
		for k := range files {
			added := step{fragment: fragment{start: s.start, end: s.start, seq: s.seq, hard: s.hard}, capability: c, score: s.score, payload: &files[k]}
			steps = slices.Insert(steps, i, added)
			shiftRefs(steps, i)
			i++
		}
		if len(files) > 1 {
			for k := range files {
				steps[i].refs = append(steps[i].refs, ref{kind: refStep, start: -1, end: -1, step: i - len(files) + k})
			}
		}
	}
	return steps
}

func refersToStep(s step) bool {
	return slices.ContainsFunc(s.refs, func(rf ref) bool {
		return rf.kind == refStep || rf.kind == refPrev || rf.kind == refAll
	})
}

// converter returns the capability that takes the payload's type and
// makes something step s can read, the best match for the step's words
// and the payload's extension among several, or -1 when the catalog has
// none.
func (p *Planner) converter(r *request, s step, pl *payload) int {
	typ := pl.typ
	scores := p.ix.score(tokensIn(r.toks, s.start, s.end), keepAll, &r.scratch)
	if ext := fileExt(pl.text); ext != "" {
		p.ix.addTerm(scores, ext, 1) // a csv file goes to what reads CSV
	}
	best, bestScore := -1, float32(-1)
	for i, c := range p.ix.caps {
		if !hasType(c.Inputs, typ) || i == s.capability {
			continue
		}
		ok := false
		for _, out := range c.Outputs {
			ok = ok || p.accepts(s.capability, out)
		}
		if ok && scores[i] > bestScore {
			best, bestScore = i, scores[i]
		}
	}
	return best
}
