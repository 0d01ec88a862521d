package rules

import (
	"bytes"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

var stepLabel = regexp.MustCompile(`(?i)^\s*(?:step\s*\d+|第\s*[0-9一二三四五六七八九十]+\s*步)\s*$`)

// findColons turns the text after a colon into a shared payload: "Translate
// into French: Bonjour". A quote right after a colon is marked shared and
// the scan goes on; a short label before a colon ("Text: ...") takes the
// rest of its line only; a colon before a list of steps is no payload. A
// payload ends early at a later sentence that goes on with the
// instructions ("Then detect the language of: ..."), and the scan goes on
// from there.
func (p *Planner) findColons(r *request, m []byte) {
	for i := 0; i < r.end; {
		c, size := utf8.DecodeRune(m[i:])
		if (c != ':' && c != '：') || clockColon(m, i, size) || stepLabel.Match(m[clauseStart(m, i):i]) {
			i += size
			continue
		}
		after := i + size
		j := skipBlanks(r.text, after)
		switch k := r.payloadAt(j); {
		case blank(m[after:]):
			r.shareFrom(after)
			return
		case k >= 0:
			r.payloads[k].shared = true
			i = r.payloads[k].end
		case isLabel(m, i):
			i = r.addLabeled(m, clauseStart(m, i), after)
		case p.listOfSteps(m, after):
			i = after
		default:
			end := p.payloadEnd(r.text, m, after)
			r.addShared(m, after, end)
			if end == len(m) {
				r.end = i
				return
			}
			r.resumes = append(r.resumes, end)
			i = end
		}
	}
}

func clockColon(m []byte, i, size int) bool {
	return i > 0 && i+size < len(m) && isDigit(m[i-1]) && isDigit(m[i+size])
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// isLabel reports whether the words before the colon at i are a short
// label that names the text itself, such as "Text" or "文章".
func isLabel(m []byte, i int) bool {
	label := strings.TrimSpace(string(m[clauseStart(m, i):i]))
	if label == "" || len(strings.Fields(label)) > 3 || utf8.RuneCountInString(label) > 24 {
		return false
	}
	named := false
	for _, t := range tokenize(label, nil) {
		switch {
		case t.kind == kindUnigram:
		case payloadNouns[t.term]:
			named = true
		default:
			return false
		}
	}
	return named
}

// addLabeled records the text after a label as a shared payload: the rest
// of the line, or the following lines when the label ends its line. The
// label itself is blanked, since it is no instruction. It returns where
// the payload ends.
func (r *request) addLabeled(m []byte, label, after int) int {
	end := lineEnd(m, after)
	if blank(m[after:end]) {
		end = paragraphEnd(m, end)
	}
	for k := label; k < after; k++ {
		m[k] = ' '
	}
	r.addShared(m, after, end)
	return end
}

// listOfSteps reports whether the colon that ends at after introduces the
// steps rather than a payload: "Do the following:\n1. Summarize the text",
// "Please do three things: detect its language; ...". It does when the
// words before the colon are no instruction themselves and the first item
// after it is one.
func (p *Planner) listOfSteps(m []byte, after int) bool {
	if p.instruction(m[clauseStart(m, after-1):after]) {
		return false
	}
	s := after
	for s < len(m) && (m[s] == ' ' || m[s] == '\t' || m[s] == '\r' || m[s] == '\n') {
		s++
	}
	s += listMarkerLen(string(m[s:lineEnd(m, s)]))
	e := s
	for e < len(m) {
		r, size := utf8.DecodeRune(m[e:])
		if strings.ContainsRune(";；,，、。!?！？\n", r) || r == '.' && (e+1 == len(m) || m[e+1] == ' ') {
			break
		}
		e += size
	}
	return p.instruction(m[s:e])
}

// instruction reports whether text matches some capability well enough to
// be an instruction.
func (p *Planner) instruction(text []byte) bool {
	_, score := p.ix.best(p.ix.score(tokenize(string(text), nil), keepAll, nil))
	return score >= p.threshold
}

func keepAll(token) bool { return true }

// findFollowing treats the text after a sentence that announces it ("the
// following", "below", "以下") as a shared payload.
func (p *Planner) findFollowing(r *request, m []byte) {
	lower := strings.ToLower(string(m[:r.end]))
	cue := -1
	for _, w := range followingCues {
		if k := strings.Index(lower, w); k >= 0 && (cue < 0 || k < cue) {
			cue = k
		}
	}
	if cue < 0 {
		return
	}
	end := sentenceEnd(m, cue)
	if end < 0 || blank(m[end:r.end]) || p.listOfSteps(m, end) {
		return
	}
	r.addShared(m, end, r.end)
	r.end = end
}

var followingCues = []string{"the following", "as follows", "below", "以下", "下面", "如下", "下列", "下文"}

// sentenceEnd returns the offset just after the sentence that holds i.
func sentenceEnd(m []byte, i int) int {
	for j := i; j < len(m); {
		c, size := utf8.DecodeRune(m[j:])
		switch c {
		case '\n', '。', '！', '？', ':', '：':
			return j + size
		case '.', '!', '?':
			if j+size == len(m) || m[j+size] == ' ' || m[j+size] == '\n' {
				return j + size
			}
		}
		j += size
	}
	return -1
}

// payloadAt returns the index of the payload that starts at offset i, or -1.
func (r *request) payloadAt(i int) int {
	k := sort.Search(len(r.payloads), func(k int) bool { return r.payloads[k].start >= i })
	if k < len(r.payloads) && r.payloads[k].start == i {
		return k
	}
	return -1
}

// shareFrom makes the payloads at or after offset i one shared payload:
// "rate these reviews: 'A' 'B'" works on both.
func (r *request) shareFrom(i int) {
	k := slices.IndexFunc(r.payloads, func(pl payload) bool { return pl.start >= i })
	if k < 0 {
		return
	}
	joined := joinPayloads(r.payloads[k:])
	joined.shared = true
	r.payloads = append(r.payloads[:k], *joined)
}

// addShared records text[start:end] as one shared payload, absorbing the
// payloads inside it; a lone quote inside keeps only its content.
func (r *request) addShared(m []byte, start, end int) {
	var inside []payload
	for _, pl := range r.payloads {
		if pl.start >= start && pl.end <= end {
			inside = append(inside, pl)
		}
	}
	text := strings.TrimSpace(r.text[start:end])
	typ := "text"
	if len(inside) == 1 && strings.TrimSpace(r.text[inside[0].start:inside[0].end]) == text {
		text, typ = inside[0].text, inside[0].typ
	}
	if text == "" {
		return
	}
	r.add(m, payload{start: start, end: end, text: text, typ: typ, shared: true})
}

// clauseStart returns where the sentence or line that holds i starts,
// looking back at most maxClause bytes: labels and step markers are short.
func clauseStart(m []byte, i int) int {
	for j := i; j > 0; {
		if i-j > maxClause {
			return j
		}
		c, size := utf8.DecodeLastRune(m[:j])
		switch c {
		case '\n', '。', '！', '？', ';', '；':
			return j
		case '.', '!', '?':
			if j < len(m) && (m[j] == ' ' || m[j] == '\t') {
				return j
			}
		}
		j -= size
	}
	return 0
}

func lineEnd(m []byte, i int) int {
	for i < len(m) && m[i] != '\n' {
		i++
	}
	return i
}

func skipBlanks(text string, i int) int {
	for i < len(text) && (text[i] == ' ' || text[i] == '\t') {
		i++
	}
	return i
}

// blank reports whether b holds only spaces and punctuation.
func blank(b []byte) bool {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if !unicode.IsSpace(r) && !unicode.IsPunct(r) {
			return false
		}
		i += size
	}
	return true
}

// maxClause bounds how far clauseStart looks back.
const maxClause = 256

// paragraphEnd returns where the paragraph that starts at or after i ends:
// at the next blank line, or the end.
func paragraphEnd(m []byte, i int) int {
	for i < len(m) && (m[i] == '\n' || m[i] == '\r' || m[i] == ' ') {
		i++
	}
	if k := bytes.Index(m[i:], []byte("\n\n")); k >= 0 {
		return i + k
	}
	return len(m)
}

// addContent records the sentences at [start, end) as a shared payload:
// the request's content, found between the instructions.
func (r *request) addContent(start, end int) {
	for end < len(r.text) {
		c, size := utf8.DecodeRuneInString(r.text[end:])
		if !strings.ContainsRune(".!?。！？", c) {
			break
		}
		end += size
	}
	text := strings.TrimSpace(r.text[start:end])
	if text == "" {
		return
	}
	r.insert(payload{start: start, end: end, text: text, typ: "text", shared: true})
}
