package rules

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/taskrouter/taskrouter/task"
)

// finish turns steps into a validated plan. Unless single, it adds the
// steps that results named but not asked for need, and the conversions
// payload types need, and a step that names several target languages
// becomes one subtask per language; a step that depends on it depends on
// all of them, unless it is a rendering in the same languages, whose
// subtask in each language takes the translation into that language.
func (p *Planner) finish(r *request, steps []step, single bool) (task.Plan, error) {
	r.shareOrphans(steps)
	if !single {
		steps = p.imply(r, steps)
		steps = p.lookupFirst(r, steps)
		steps = p.convert(r, steps)
		steps = p.translateFirst(r, steps)
	}
	var tasks []task.Subtask
	ids := make([][]string, len(steps))
	used := make([]bool, len(steps))
	for i := range steps {
		deps := p.deps(r, steps, i, used)
		var depIDs []string
		for _, d := range deps {
			used[d] = true
			depIDs = append(depIDs, ids[d]...)
		}
		targets := steps[i].targets
		if single && len(targets) > 1 {
			targets = targets[:1]
		}
		for k := 0; k < max(1, len(targets)); k++ {
			st := p.subtask(r, steps, i, pairedDeps(steps, deps, ids, depIDs, targets, k))
			if len(targets) > 1 {
				st.Args["target_lang"] = targets[k]
			}
			if len(st.Args) == 0 {
				st.Args = nil
			}
			st.ID = fmt.Sprintf("t%d", len(tasks)+1)
			ids[i] = append(ids[i], st.ID)
			tasks = append(tasks, st)
		}
	}
	plan := task.Plan{Tasks: tasks}
	if err := plan.Validate(p.limits, p.known); err != nil {
		return task.Plan{}, fmt.Errorf("planning by rules: %w", err)
	}
	return plan, nil
}

// deps infers which earlier steps step i needs, in order of strength:
// phrases that name an earlier result; then sequencing ("then", "然后")
// when the step before produces what this step takes and the step has no
// text of its own, nor a payload after the colon of the sentence it
// opens; then types, when the payload is of a kind this step cannot read
// (an image for a text step) and an earlier step produces one it can.
func (p *Planner) deps(r *request, steps []step, i int, used []bool) []int {
	s := steps[i]
	var deps []int
	add := func(j int) {
		if j >= 0 && j < i && !slices.Contains(deps, j) {
			deps = append(deps, j)
		}
	}
	explicit := false
	for _, rf := range s.refs {
		switch rf.kind {
		case refStep:
			add(rf.step)
		case refPrev:
			add(i - 1)
		case refAll:
			p.addUnused(i, used, add)
		case refPayload:
			explicit = true
		}
	}
	if len(deps) == 0 && !explicit {
		add(p.sameTextSource(r, steps, i))
	}
	if len(deps) == 0 && i > 0 && !explicit && s.seq && r.ownPayload(s.ownSpan()) < 0 && !r.resumesWithPayload(steps, i) && p.feeds(steps[i-1], s) {
		add(i - 1)
	}
	if len(deps) == 0 {
		if pl := p.payloadFor(r, steps, i); pl != nil && !p.accepts(s.capability, pl.typ) {
			add(p.producer(steps, i))
		}
	}
	if len(deps) == 0 && (!explicit || p.lacksData(r, s)) {
		// "add subtitles to it with the text 'Once upon a time'": the text
		// named is one input, the video made before the other
		add(p.dataSource(r, steps, i))
	}
	slices.Sort(deps)
	return deps
}

// dataSource returns the earlier step whose result step i works on by
// the types alone, or -1: the nearest that makes what it reads when it
// cannot read text and names nothing of its own it can read ("draw a
// chart" of a query's rows, "upscale it" after a colorization); when it
// says "it" of data ("mix it with the voice in a.wav") or has nothing at
// all to work on ("summarize the thread" of a ticket looked up), the
// nearest that makes data, not text, that it reads; when it says "it" and
// has nothing to work on ("write a poem and read it aloud"), the nearest
// that makes anything it reads.
func (p *Planner) dataSource(r *request, steps []step, i int) int {
	s := steps[i]
	c := p.ix.caps[s.capability]
	own := false
	for _, pl := range r.ownPayloads(s.ownSpan()) {
		own = own || hasType(c.Inputs, pl.typ) || p.accepts(s.capability, pl.typ) && pl.typ == "text"
	}
	readsText := hasType(c.Inputs, "text") || hasType(c.Inputs, "prompt")
	weak := slices.ContainsFunc(s.refs, func(rf ref) bool { return rf.kind == refWeak })
	bare := p.payloadFor(r, steps, i) == nil && !p.namesOwnID(r, s)
	for j := i - 1; j >= 0; j-- {
		for _, out := range p.ix.caps[steps[j].capability].Outputs {
			if !hasType(c.Inputs, out) {
				continue
			}
			switch {
			case !readsText && !own:
				return j
			case out == "text" || out == "prompt":
			case weak, bare:
				return j
			}
		}
	}
	if weak && bare {
		return p.producer(steps, i)
	}
	return -1
}

// addUnused adds every earlier step no other step depends on yet: "combine
// the results" takes the results that are still loose ends.
func (p *Planner) addUnused(i int, used []bool, add func(int)) {
	n := 0
	for j := 0; j < i; j++ {
		if !used[j] {
			add(j)
			n++
		}
	}
	if n == 0 {
		add(i - 1)
	}
}

// feeds reports whether a's output is exactly a type b takes; a prompt
// takes text.
func (p *Planner) feeds(a, b step) bool {
	ins := p.ix.caps[b.capability].Inputs
	for _, out := range p.ix.caps[a.capability].Outputs {
		if hasType(ins, out) || out == "text" && hasType(ins, "prompt") {
			return true
		}
	}
	return false
}

// textLike are the types a text or prompt input can take as they are.
var textLike = setOf("text", "json", "number", "url", "document")

// accepts reports whether capability c can take a payload of type t.
func (p *Planner) accepts(c int, t string) bool {
	ins := p.ix.caps[c].Inputs
	return hasType(ins, t) || textLike[t] && (hasType(ins, "text") || hasType(ins, "prompt"))
}

// producer returns the nearest earlier step whose output is exactly a type
// step i takes, else the nearest whose output it accepts at all.
func (p *Planner) producer(steps []step, i int) int {
	for j := i - 1; j >= 0; j-- {
		if p.feeds(steps[j], steps[i]) {
			return j
		}
	}
	for j := i - 1; j >= 0; j-- {
		for _, out := range p.ix.caps[steps[j].capability].Outputs {
			if p.accepts(steps[i].capability, out) {
				return j
			}
		}
	}
	return -1
}

// subtask builds step i's subtask: its input is the output of its
// dependencies, else its payload, else its own words; a capability that
// takes a prompt gets its own words as well.
func (p *Planner) subtask(r *request, steps []step, i int, deps []string) task.Subtask {
	s := steps[i]
	c := p.ix.caps[s.capability]
	args := p.args(r, s)
	var body string
	pl := p.payloadFor(r, steps, i)
	if pl != nil && !pl.shared && pl.start >= s.end && !p.accepts(s.capability, pl.typ) {
		pl = nil // a later step's file, which this step cannot read
	}
	switch {
	case len(deps) > 0:
		refs := make([]string, len(deps))
		for k, d := range deps {
			refs[k] = "{{" + d + "}}"
		}
		body = strings.Join(refs, "\n\n")
		if own := r.ownPayload(s.ownSpan()); own >= 0 && task.IsBinaryType(r.payloads[own].typ) && hasType(c.Inputs, r.payloads[own].typ) {
			// "mix it with narration.wav": the result and the file
			body += "\n\n" + r.payloads[own].text
			args["file"] = r.payloads[own].text
		}
	case pl != nil:
		body = pl.text
		switch {
		case pl.typ == "url":
			args["url"] = pl.text
		case pl.typ != "text":
			args["file"] = pl.text
		}
	}
	input := body
	if readsInstruction(c.Capability) {
		input = p.promptInput(r, s, len(steps) == 1, body, len(deps) == 0 && pl != nil && !pl.shared && pl.start >= s.start && pl.end <= s.end)
	} else if input == "" {
		input = instructionText(r, s, len(steps) == 1)
	}
	if deps == nil {
		deps = []string{}
	}
	return task.Subtask{Capability: c.Name, Input: input, Args: args, Deps: deps}
}

// readsInstruction reports whether a capability reads the request's words
// besides what they work on: one that takes a prompt, or one that takes
// data and text together (a question about an image, a style for a
// picture, subtitles for a video).
func readsInstruction(c task.Capability) bool {
	if hasType(c.Inputs, "prompt") {
		return true
	}
	binary := slices.ContainsFunc(c.Inputs, task.IsBinaryType)
	return binary && hasType(c.Inputs, "text")
}

// promptInput is the input of a capability that reads the instruction: the
// whole request for a one-step plan, else the step's words followed by
// what they work on, unless that is already among them.
func (p *Planner) promptInput(r *request, s step, single bool, body string, inside bool) string {
	if single && !strings.Contains(body, "{{") {
		return strings.TrimSpace(r.text)
	}
	text := instructionText(r, s, false)
	if body == "" || inside {
		return text
	}
	if text == "" {
		return body
	}
	return text + "\n\n" + body
}

// instructionText is the request's own words for a step, without the
// shared payloads inside it; for a one-step plan, the whole request.
func instructionText(r *request, s step, single bool) string {
	if single {
		return strings.TrimSpace(r.text)
	}
	var b strings.Builder
	at := s.start
	for _, pl := range r.payloads {
		if pl.shared && pl.start >= s.start && pl.end <= s.end {
			b.WriteString(r.text[at:pl.start])
			at = pl.end
		}
	}
	b.WriteString(r.text[at:s.end])
	return strings.TrimFunc(b.String(), func(c rune) bool {
		return strings.ContainsRune(" \t\r\n,;:、，；：", c)
	})
}

// args extracts the target and source languages and a count from a step's
// words, payloads left out.
func (p *Planner) args(r *request, s step) map[string]string {
	args := map[string]string{}
	if len(s.targets) > 0 {
		args["target_lang"] = s.targets[0]
		if s.source != "" && s.source != s.targets[0] {
			args["source_lang"] = s.source
		}
	}
	if unit, n := p.count(r, s); unit != "" {
		args[unit] = n
	}
	return args
}

// payloadFor returns what step i works on when it depends on no step: its
// own payload; else the nearest shared payload from its start on, or
// before it; else the payload of the nearest step before, or after, it.
func (p *Planner) payloadFor(r *request, steps []step, i int) *payload {
	s := steps[i]
	if s.payload != nil {
		return s.payload
	}
	if own := r.ownPayloads(s.ownSpan()); len(own) > 0 {
		return joinPayloads(own)
	}
	var before *payload
	for k := range r.payloads {
		pl := &r.payloads[k]
		if !pl.shared {
			continue
		}
		if pl.start >= s.start {
			return pl
		}
		before = pl
	}
	if before != nil {
		return before
	}
	for j := i - 1; j >= 0; j-- {
		if k := r.ownPayload(steps[j].ownSpan()); k >= 0 {
			return &r.payloads[k]
		}
	}
	for j := i + 1; j < len(steps); j++ {
		if k := r.ownPayload(steps[j].ownSpan()); k >= 0 {
			return &r.payloads[k]
		}
	}
	return nil
}

// ownPayloads returns the payloads inside f that are not shared.
func (r *request) ownPayloads(f fragment) []payload {
	var out []payload
	k := sort.Search(len(r.payloads), func(k int) bool { return r.payloads[k].start >= f.start })
	for ; k < len(r.payloads) && r.payloads[k].start < f.end; k++ {
		if pl := r.payloads[k]; !pl.shared && pl.end <= f.end {
			out = append(out, pl)
		}
	}
	return out
}

// joinPayloads makes one payload of several, one per line: "Compare
// a.pdf and b.pdf" works on both.
func joinPayloads(pls []payload) *payload {
	joined := pls[0]
	if len(pls) == 1 {
		return &joined
	}
	var b strings.Builder
	b.WriteString(joined.text)
	for _, pl := range pls[1:] {
		b.WriteString("\n")
		b.WriteString(pl.text)
		joined.end = pl.end
		if pl.typ != joined.typ {
			joined.typ = "text"
		}
	}
	joined.text = b.String()
	return &joined
}

// ownPayload returns the index of the first payload inside f that is not
// shared, or -1.
func (r *request) ownPayload(f fragment) int {
	k := sort.Search(len(r.payloads), func(k int) bool { return r.payloads[k].start >= f.start })
	for ; k < len(r.payloads) && r.payloads[k].start < f.end; k++ {
		if pl := r.payloads[k]; !pl.shared && pl.end <= f.end {
			return k
		}
	}
	return -1
}

// pairedDeps returns the dependencies of the subtask of step i in its
// k-th target language: all of depIDs, except that a translation added
// for a rendering in the same languages gives only its subtask in that
// language ("read it aloud in French and German": the French speech
// reads the French translation).
func pairedDeps(steps []step, deps []int, ids [][]string, depIDs []string, targets []string, k int) []string {
	if len(targets) < 2 {
		return depIDs
	}
	var out []string
	for _, d := range deps {
		if steps[d].forRendering && slices.Equal(steps[d].targets, targets) && len(ids[d]) == len(targets) {
			out = append(out, ids[d][k])
			continue
		}
		out = append(out, ids[d]...)
	}
	return out
}

// lacksData reports whether step s reads binary data besides text and has
// none of its own: a phrase naming the request's text gives it only the
// text.
func (p *Planner) lacksData(r *request, s step) bool {
	c := p.ix.caps[s.capability]
	if !readsInstruction(c.Capability) {
		return false
	}
	for _, pl := range r.ownPayloads(s.ownSpan()) {
		if task.IsBinaryType(pl.typ) && hasType(c.Inputs, pl.typ) {
			return false
		}
	}
	return true
}
