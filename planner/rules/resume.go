package rules

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// payloadEnd returns where the payload after the colon that ends at after
// ends: before the first later sentence that opens with a sequencing word
// and reads as an instruction ("Summarize: A. Then detect the language
// of: B"), else at the end of the request. The payload keeps at least its
// first sentence, and quotes and code fences are masked out of m already,
// so nothing inside them can end it.
func (p *Planner) payloadEnd(text string, m []byte, after int) int {
	first := after
	for first < len(text) {
		c, size := utf8.DecodeRuneInString(text[first:])
		if !unicode.IsSpace(c) && !unicode.IsPunct(c) {
			break
		}
		first += size
	}
	for j := first; j < len(m); {
		s := nextSentence(m, j)
		if s < 0 {
			break
		}
		if p.resumesAt(m, s) {
			return s
		}
		j = s
	}
	return len(m)
}

// nextSentence returns where the first sentence or line that starts after
// offset i begins, past any blanks, or -1.
func nextSentence(m []byte, i int) int {
	for j := i; j < len(m); {
		c, size := utf8.DecodeRune(m[j:])
		j += size
		switch c {
		case '.', '!', '?':
			if j < len(m) && m[j] != ' ' && m[j] != '\t' && m[j] != '\r' && m[j] != '\n' {
				continue
			}
		case '\n', '。', '！', '？':
		default:
			continue
		}
		for j < len(m) && (m[j] == ' ' || m[j] == '\t' || m[j] == '\r' || m[j] == '\n') {
			j++
		}
		if j < len(m) {
			return j
		}
	}
	return -1
}

// resumesAt reports whether the sentence at s goes on with the
// instructions: it opens with a sequencing word (then, after that, 然后),
// and the clause after that word matches some capability and does not
// tell what someone did ("Then I went to work", "Then the company
// translated its website").
func (p *Planner) resumesAt(m []byte, s int) bool {
	head := string(m[s:min(len(m), s+32)])
	c, _ := utf8.DecodeRuneInString(head)
	var n int
	var kind boundary
	if isCJK(c) {
		n, kind = chineseConnectiveAt(head, 0, true)
	} else {
		n, kind = englishConnectiveAt(head, 0, true)
	}
	if kind != sequence {
		return false
	}
	start := s + n
	for start < len(m) {
		c, size := utf8.DecodeRune(m[start:])
		if c != ' ' && c != ',' && c != '，' {
			break
		}
		start += size
	}
	end := sentenceEnd(m, start)
	if end < 0 {
		end = len(m)
	}
	clause := m[start:end]
	return !narrates(clause) && p.instruction(clause)
}

// narrates reports whether a clause opens with its subject, as a sentence
// that tells rather than asks does.
func narrates(clause []byte) bool {
	c, size := utf8.DecodeRune(clause)
	if isCJK(c) {
		c2, size2 := utf8.DecodeRune(clause[size:])
		return narrators[string(c)] || isCJK(c2) && narrators[string(clause[:size+size2])]
	}
	i := 0
	for i < len(clause) {
		c, size := utf8.DecodeRune(clause[i:])
		if !unicode.IsLetter(c) || isCJK(c) {
			break
		}
		i += size
	}
	return narrators[strings.ToLower(string(clause[:i]))]
}

// resumesWithPayload reports whether step i is the first of the
// instructions that cut a colon's payload short, and those instructions
// bring a payload of their own ("Summarize: A. Then detect the language
// of: B"): the step works on it, not on the result of the step before.
func (r *request) resumesWithPayload(steps []step, i int) bool {
	s := steps[i]
	k := sort.SearchInts(r.resumes, s.start+1) - 1
	if k < 0 || i > 0 && steps[i-1].start >= r.resumes[k] {
		return false
	}
	next := len(r.text)
	if k+1 < len(r.resumes) {
		next = r.resumes[k+1]
	}
	for _, pl := range r.payloads {
		if pl.shared && pl.start >= s.start && pl.start < next {
			return true
		}
	}
	return false
}
