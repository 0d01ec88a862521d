package rules

import (
	"slices"

	"github.com/taskrouter/taskrouter/task"
)

// A language asked of a step that renders text as it is, such as speech
// ("read the description aloud in French", "say it in German"), is a
// language the text must be in before: when the text is not in it, the
// catalog's translator goes first, to that language, and the rendering
// takes its result. A step that writes its own text ("answer in
// Chinese", "summarize in French") is left to write in the language.

// translatorTerm is the stem that names the work of translation in a
// catalog's names, keywords and descriptions.
var translatorTerm = stem("translate")

// translator returns the capability that translates text into text, the
// one whose document weighs the word most, or -1 when the catalog has
// none.
func (ix *index) translator() int {
	best, bestW := -1, float32(0)
	for _, ps := range ix.postings[translatorTerm] {
		c := ix.caps[ps.capability]
		if hasType(c.Inputs, task.TypeText) && hasType(c.Outputs, task.TypeText) && ps.weight > bestW {
			best, bestW = ps.capability, ps.weight
		}
	}
	return best
}

// renders reports whether a capability turns text into data without
// writing any text of its own: it reads text and makes only binary data.
func renders(c task.Capability) bool {
	if !hasType(c.Inputs, task.TypeText) || len(c.Outputs) == 0 {
		return false
	}
	return !slices.ContainsFunc(c.Outputs, func(t string) bool { return !task.IsBinaryType(t) })
}

// translateFirst adds a translation before every step that renders text
// in a language the text is not in. The translation takes what the step
// would have taken (its references, else its payload), and the step
// takes the translation.
func (p *Planner) translateFirst(r *request, steps []step) []step {
	if p.translatorCap < 0 {
		return steps
	}
	for i := 0; i < len(steps); i++ {
		s := steps[i]
		if len(s.targets) == 0 || s.capability == p.translatorCap || !renders(p.ix.caps[s.capability].Capability) ||
			subtaskCount(steps)+len(s.targets) > p.maxSteps() || p.translatedBefore(steps, i) || !p.needsTranslation(r, steps, i) {
			continue
		}
		added := step{
			fragment:     fragment{start: s.start, end: s.start, seq: s.seq, hard: s.hard},
			capability:   p.translatorCap,
			score:        s.score,
			refs:         s.refs,
			payload:      p.payloadFor(r, steps, i),
			targets:      s.targets,
			source:       s.source,
			forRendering: true,
		}
		steps = slices.Insert(steps, i, added)
		shiftRefs(steps, i)
		i++
		steps[i].refs = []ref{{kind: refStep, start: -1, end: -1, step: i - 1}}
	}
	return steps
}

// translatedBefore reports whether an earlier step translates into the
// language step i asks for already ("translate it into French and read
// it aloud in French").
func (p *Planner) translatedBefore(steps []step, i int) bool {
	for j := range i {
		if steps[j].capability == p.translatorCap && slices.Equal(steps[j].targets, steps[i].targets) {
			return true
		}
	}
	return false
}

// needsTranslation reports whether the text step i renders is not in the
// language it asks for: its own payload, as far as one can tell, or the
// result of an earlier step, which is in the language of the request.
func (p *Planner) needsTranslation(r *request, steps []step, i int) bool {
	s := steps[i]
	text := r.masked[:r.end]
	if pl := p.payloadFor(r, steps, i); pl != nil && pl.typ == task.TypeText && !refersToStep(s) && !p.takesResult(r, steps, i) {
		text = pl.text
	}
	lang := writtenIn(text)
	return lang == "" || slices.ContainsFunc(s.targets, func(t string) bool { return t != lang })
}

// takesResult reports whether step i has no payload of its own and
// follows a step whose result it reads, as "then read it aloud" does.
func (p *Planner) takesResult(r *request, steps []step, i int) bool {
	s := steps[i]
	return i > 0 && r.ownPayload(s.ownSpan()) < 0 && (s.seq || p.dataSource(r, steps, i) >= 0) && p.feeds(steps[i-1], s)
}

// subtaskCount is how many subtasks steps become: one per target language.
func subtaskCount(steps []step) int {
	n := 0
	for _, s := range steps {
		n += max(1, len(s.targets))
	}
	return n
}
