package rules

import (
	"slices"

	"github.com/taskrouter/taskrouter/task"
)

// Two steps of one request may work on the same text, whether the request
// quotes it for the first ("Translate 'Où est la gare ?' into English and
// turn it into speech") or after both ("Summarize this paragraph and read
// it aloud: '…'"). Most such steps are parallel ("Summarize this text and
// extract its keywords"), but two kinds take the first step's result
// instead of the text:
//
//   - a step that renders text as data, speech or a picture, renders the
//     text an earlier step wrote of it: one does not summarize a paragraph
//     to read the paragraph aloud (and the translation a rendering needs
//     first translates that text);
//   - a step after a translation of the text into the language of the
//     request works on the translation ("Translate it into English and
//     draft a reply").

// sameTextSource returns the earlier step whose result step i takes
// instead of the text both work on, or -1. Step i has no payload of its
// own and no phrase that names the text itself.
func (p *Planner) sameTextSource(r *request, steps []step, i int) int {
	s := steps[i]
	if r.ownPayload(s.ownSpan()) >= 0 || slices.ContainsFunc(s.refs, func(rf ref) bool { return rf.kind == refPayload }) {
		return -1
	}
	pl := p.payloadFor(r, steps, i)
	if pl == nil || pl.typ != task.TypeText {
		return -1
	}
	rendering := s.forRendering || renders(p.ix.caps[s.capability].Capability)
	lang := writtenIn(r.masked[:r.end])
	for j := i - 1; j >= 0; j-- {
		w := p.payloadFor(r, steps, j)
		if w == nil || w.start != pl.start || w.end != pl.end || !p.writesText(steps[j]) || !p.feeds(steps[j], s) {
			continue
		}
		intoRequest := steps[j].capability == p.translatorCap && lang != "" && slices.Equal(steps[j].targets, []string{lang})
		if rendering || intoRequest {
			return j
		}
	}
	return -1
}

// writesText reports whether a step makes text.
func (p *Planner) writesText(s step) bool {
	return hasType(p.ix.caps[s.capability].Outputs, task.TypeText)
}
