package rules

import (
	"regexp"
	"slices"
	"strings"

	"github.com/taskrouter/taskrouter/task"
)

// Lookups. A request often names a thing by its identifier and asks for
// work on its text: "Summarize ticket 3003", "Draft a reply to order
// #123". The step asked for needs the text, which only a tool that finds
// the thing by that kind of identifier gives: the catalog says so in its
// own words ("Fetch a support ticket by ticket number", "Look up a
// customer by email address or customer id"). Such a lookup goes first,
// on the identifier, and the step takes its result. A tool whose own
// description names the identifier ("Issue a refund for an order
// number") takes it as it is, and gets no lookup.

// idKind finds "<kind> number", "<kind> id" in a catalog's words.
var idKind = regexp.MustCompile(`(?i)\b([a-z]+)[ -](?:(?:number|id|identifier)\b|no\.)`)

// byClause finds the words after "by" up to the end of their clause: what
// a tool finds a thing by.
var byClause = regexp.MustCompile(`(?i)\bby\s+([^.,;:()]+)`)

// idAfterKind reads an identifier after the word naming its kind: "3003",
// "#123", "number 991", "id A-1729"; it must hold a digit.
var idAfterKind = regexp.MustCompile(`(?i)^\s*(?:(?:number|no\.?|id|#)\s*)?#?\s*([a-z0-9][a-z0-9_-]*[a-z0-9]|[0-9])\b`)

// lookupTool is a capability that finds things of some kinds by their
// identifiers and gives their text.
type lookupTool struct {
	capability int
	kinds      []string
}

// lookups holds, for a catalog, its lookup tools and, per capability, the
// kinds of identifier it names and so takes as they are.
type lookups struct {
	tools []lookupTool
	takes [][]string
}

// findLookups reads the lookup tools of a catalog from its descriptions
// and keywords. A lookup reads text (the identifier) and gives text, JSON
// or a document.
func findLookups(ix *index) lookups {
	l := lookups{takes: make([][]string, len(ix.caps))}
	for i, c := range ix.caps {
		words := append([]string{c.Description}, c.Keywords...)
		for _, w := range words {
			l.takes[i] = appendKinds(l.takes[i], w)
		}
		gives := slices.ContainsFunc(c.Outputs, func(t string) bool { return textLike[t] })
		if !hasType(c.Inputs, task.TypeText) || !gives {
			continue
		}
		var by []string
		for _, m := range byClause.FindAllStringSubmatch(c.Description, -1) {
			by = appendKinds(by, m[1])
		}
		if len(by) > 0 {
			l.tools = append(l.tools, lookupTool{capability: i, kinds: by})
		}
	}
	return l
}

func appendKinds(kinds []string, text string) []string {
	for _, m := range idKind.FindAllStringSubmatch(text, -1) {
		if k := strings.ToLower(m[1]); !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	return kinds
}

// idMention is an identifier of a kind named in a request: "ticket 3003".
type idMention struct {
	start, end int
	kindEnd    int // where the word naming the kind ends
	kind       string
}

// mentions returns the identifiers of the kinds the lookups know, named
// in the instructions within [start, end).
func (l lookups) mentions(r *request, start, end int) []idMention {
	return idMentions(r, start, end, func(kind string) bool {
		return slices.ContainsFunc(l.tools, func(t lookupTool) bool { return slices.Contains(t.kinds, kind) })
	})
}

// idMentions returns the identifiers of the kinds known says it knows,
// named in the instructions within [start, end).
func idMentions(r *request, start, end int, known func(string) bool) []idMention {
	var out []idMention
	for _, w := range wordsIn(r.words, start, end) {
		kind := strings.TrimSuffix(w.text, "s")
		if !known(kind) {
			continue
		}
		m := idAfterKind.FindStringSubmatchIndex(r.masked[w.end:end])
		if m == nil || !strings.ContainsAny(r.masked[w.end+m[2]:w.end+m[3]], "0123456789") {
			continue
		}
		out = append(out, idMention{start: w.start, end: w.end + m[1], kindEnd: w.end, kind: kind})
	}
	return out
}

// namesOwnID reports whether step s names an identifier of a kind its
// capability takes as it is ("refund order 55512"): that is what it works
// on, not an earlier step's result.
func (p *Planner) namesOwnID(r *request, s step) bool {
	if len(p.lookups.takes[s.capability]) == 0 {
		return false
	}
	return len(idMentions(r, s.start, s.end, func(kind string) bool { return slices.Contains(p.lookups.takes[s.capability], kind) })) > 0
}

// lookupFirst adds the lookup of an identifier before a step that names
// it and needs text, unless the step takes that kind of identifier
// itself, or an earlier step looks the same thing up. A step that also
// takes earlier results takes the lookup's besides ("draft a reply to
// ticket 3150 with what you find"); one that names a result no step made
// yet ("translate the summary of ticket 3003") has the lookup feed the
// step added to make it.
func (p *Planner) lookupFirst(r *request, steps []step) []step {
	if len(p.lookups.tools) == 0 {
		return steps
	}
	for i := 0; i < len(steps) && len(steps) < p.maxSteps(); i++ {
		s := steps[i]
		if s.start == s.end {
			continue // added: it names nothing itself
		}
		for _, m := range p.lookups.mentions(r, s.start, s.end) {
			at := i
			if i > 0 && steps[i-1].start == steps[i-1].end && refersTo(s, i-1) {
				at = i - 1
			}
			tool := p.lookupFor(m.kind, steps[at].capability)
			if tool < 0 || p.lookedUp(r, steps[:at], m) {
				continue
			}
			added := step{
				fragment:   fragment{start: s.start, end: s.start, seq: steps[at].seq, hard: steps[at].hard},
				capability: tool,
				score:      s.score,
				payload:    &payload{start: m.start, end: m.end, text: r.text[m.start:m.end], typ: task.TypeText},
			}
			pinPrev(steps, at)
			steps = slices.Insert(steps, at, added)
			shiftRefs(steps, at)
			i++
			steps[at+1].refs = append(steps[at+1].refs, ref{kind: refStep, start: -1, end: -1, step: at})
			break
		}
	}
	return steps
}

// pinPrev makes step i's references to the step before it ("the
// result", "them") name that step, so that a step inserted before i
// does not take its place.
func pinPrev(steps []step, i int) {
	for k := range steps[i].refs {
		if rf := &steps[i].refs[k]; rf.kind == refPrev && i > 0 {
			rf.kind, rf.step = refStep, i-1
		}
	}
}

// refersTo reports whether step s names step j's result.
func refersTo(s step, j int) bool {
	return slices.ContainsFunc(s.refs, func(rf ref) bool { return rf.kind == refStep && rf.step == j })
}

// lookupFor returns the lookup tool for a kind of identifier that a step
// of capability c needs first, or -1.
func (p *Planner) lookupFor(kind string, c int) int {
	if slices.Contains(p.lookups.takes[c], kind) {
		return -1 // it takes the identifier itself, or is the lookup
	}
	for _, t := range p.lookups.tools {
		if slices.Contains(t.kinds, kind) && t.capability != c && slices.ContainsFunc(p.ix.caps[t.capability].Outputs, func(out string) bool { return p.accepts(c, out) }) {
			return t.capability
		}
	}
	return -1
}

// lookedUp reports whether an earlier step is a lookup of the thing m
// names, or names it in a step of the lookup's capability.
func (p *Planner) lookedUp(r *request, prev []step, m idMention) bool {
	id := strings.ToLower(r.text[m.start:m.end])
	for _, s := range prev {
		if s.payload != nil && strings.ToLower(s.payload.text) == id {
			return true
		}
		if slices.Contains(p.lookups.takes[s.capability], m.kind) && strings.Contains(strings.ToLower(r.text[s.start:s.end]), id) {
			return true
		}
	}
	return false
}

// idSpans returns the spans of the identifiers of the kinds the catalog
// knows, without the word naming the kind: "number 1200" of "ticket number
// 1200". They name a thing, not work, and match no capability.
func (l lookups) idSpans(r *request) [][2]int {
	if len(l.tools) == 0 && !slices.ContainsFunc(l.takes, func(k []string) bool { return len(k) > 0 }) {
		return nil
	}
	var out [][2]int
	for _, m := range idMentions(r, 0, r.end, l.knows) {
		out = append(out, [2]int{m.kindEnd, m.end})
	}
	return out
}

// knows reports whether some capability looks up or takes identifiers of
// a kind.
func (l lookups) knows(kind string) bool {
	return slices.ContainsFunc(l.takes, func(k []string) bool { return slices.Contains(k, kind) })
}
