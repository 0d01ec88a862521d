package rules

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// fragment is a piece of the instructions between two boundaries.
type fragment struct {
	start, end int
	seq        bool // a sequencing word (then, 然后) stands before it
	hard       bool // a sentence end, line break or list item stands before it
}

// boundary is what separates fragments.
type boundary uint8

const (
	soft     boundary = iota + 1 // a comma or "and": same sentence
	hard                         // a sentence end, a line or a list item
	sequence                     // then, after that, 然后, 再
)

// connective is a word that joins two steps.
type connective struct {
	word string
	kind boundary
	// leading connectives count only at the start of a fragment, so "the
	// next chapter" and "the first line" are not cut.
	leading bool
}

// englishConnectives are matched as whole words, longest first.
var englishConnectives = []connective{
	{"once that is done", sequence, false}, {"at the same time", soft, false}, {"and after that", sequence, false},
	{"after that", sequence, false}, {"after this", sequence, false}, {"and finally", sequence, false}, {"and then", sequence, false},
	{"first of all", soft, false}, {"in addition", soft, false}, {"as well as", soft, false}, {"and also", soft, false},
	{"afterwards", sequence, false}, {"afterward", sequence, false}, {"subsequently", sequence, false}, {"finally", sequence, false},
	{"lastly", sequence, false}, {"then", sequence, false}, {"next", sequence, true},
	{"additionally", soft, false}, {"meanwhile", soft, false}, {"besides", soft, false}, {"firstly", soft, true}, {"secondly", soft, true},
	{"thirdly", soft, true}, {"first", soft, true}, {"second", soft, true}, {"third", soft, true},
	{"also", soft, false}, {"plus", soft, false}, {"and", soft, false},
}

// chineseConnectives are matched anywhere, longest first, unless a
// neighbouring character makes them part of a word (合并, 再见, 和平).
var chineseConnectives = []connective{
	{"完成之后", sequence, false}, {"完成后", sequence, false}, {"接下来", sequence, false}, {"然后", sequence, false}, {"接着", sequence, false},
	{"之后", sequence, false}, {"随后", sequence, false}, {"其后", sequence, false}, {"最后", sequence, false}, {"再", sequence, false},
	{"并且", soft, false}, {"而且", soft, false}, {"同时", soft, false}, {"以及", soft, false}, {"另外", soft, false}, {"此外", soft, false},
	{"还需要", soft, false}, {"还要", soft, false}, {"首先", soft, false}, {"其次", soft, false}, {"并", soft, false}, {"及", soft, false}, {"和", soft, false},
}

// notBefore and notAfter list the characters that, next to a one-character
// connective, make it part of another word.
var (
	notBefore = map[string]string{"并": "合兼吞归", "再": "不一", "及": "以涉提普来不波", "和": "温缓总柔暖祥平"}
	notAfter  = map[string]string{"并": "不非没未列行存", "再": "见次也说三一", "及": "时格其", "和": "平谐蔼"}
)

// split cuts the instructions into fragments at sentence ends, line breaks,
// list items, commas and connectives.
func split(masked string) []fragment {
	var out []fragment
	pending := boundary(0)
	start := 0
	cut := func(end, next int, kind boundary) {
		if strings.TrimFunc(masked[start:end], trimmable) != "" {
			out = append(out, fragment{start: start, end: end, seq: pending == sequence, hard: pending == hard})
			pending = 0
		}
		pending = max(pending, kind)
		start = next
	}
	seen := false // whether the current fragment has begun
	for i := 0; i < len(masked); {
		if i == 0 || masked[i-1] == '\n' {
			if n := listMarkerLen(firstLine(masked[i:], 64)); n > 0 {
				cut(i, i+n, hard)
				i, seen = i+n, false
				continue
			}
		}
		n, kind := boundaryAt(masked, i, !seen)
		if n > 0 {
			end := i
			if r, _ := utf8.DecodeRuneInString(masked[i:]); strings.ContainsRune("?？!！", r) {
				end = i + n // a question keeps its mark
			}
			cut(end, i+n, kind)
			i, seen = i+n, false
			continue
		}
		r, size := utf8.DecodeRuneInString(masked[i:])
		seen = seen || !trimmable(r)
		i += size
	}
	cut(len(masked), len(masked), 0)
	return out
}

// boundaryAt returns the length and kind of a boundary at i, or 0.
func boundaryAt(s string, i int, atStart bool) (int, boundary) {
	r, size := utf8.DecodeRuneInString(s[i:])
	switch r {
	case '\n', '。', '！', '？', ';', '；':
		return size, hard
	case '.', '!', '?':
		if i+size == len(s) || s[i+size] == ' ' || s[i+size] == '\n' || s[i+size] == '\t' {
			return size, hard
		}
		return 0, 0
	case ',':
		if thousands(s, i) {
			return 0, 0 // 2,450 is one number
		}
		return size, soft
	case '，', '、':
		return size, soft
	}
	if isCJK(r) {
		return chineseConnectiveAt(s, i, atStart)
	}
	if unicode.IsLetter(r) && (i == 0 || !isWordByte(s, i)) {
		if loc := stepAt(s, i); loc != nil {
			return loc[1], hard
		}
		return englishConnectiveAt(s, i, atStart)
	}
	if n := inlineMarkerLen(s, i); n > 0 {
		return n, soft
	}
	return 0, 0
}

// isWordByte reports whether the rune before i is a letter or digit.
func isWordByte(s string, i int) bool {
	p, _ := utf8.DecodeLastRuneInString(s[:i])
	return unicode.IsLetter(p) || unicode.IsDigit(p)
}

// connectivesByFirst files the English connectives by first letter.
var connectivesByFirst = func() map[byte][]connective {
	m := map[byte][]connective{}
	for _, c := range englishConnectives {
		m[c.word[0]] = append(m[c.word[0]], c)
	}
	return m
}()

func englishConnectiveAt(s string, i int, atStart bool) (int, boundary) {
	if s[i] >= utf8.RuneSelf {
		return 0, 0
	}
	for _, c := range connectivesByFirst[s[i]|0x20] {
		if c.leading && !atStart || len(s)-i < len(c.word) || !strings.EqualFold(s[i:i+len(c.word)], c.word) {
			continue
		}
		j := i + len(c.word)
		if j < len(s) {
			if n, _ := utf8.DecodeRuneInString(s[j:]); unicode.IsLetter(n) || unicode.IsDigit(n) {
				continue
			}
		}
		return len(c.word), c.kind
	}
	return 0, 0
}

func chineseConnectiveAt(s string, i int, atStart bool) (int, boundary) {
	if atStart && strings.HasPrefix(s[i:], "先") {
		return len("先"), soft
	}
	for _, c := range chineseConnectives {
		if !strings.HasPrefix(s[i:], c.word) {
			continue
		}
		prev, _ := utf8.DecodeLastRuneInString(s[:i])
		next, _ := utf8.DecodeRuneInString(s[i+len(c.word):])
		if strings.ContainsRune(notBefore[c.word], prev) || strings.ContainsRune(notAfter[c.word], next) {
			continue
		}
		return len(c.word), c.kind
	}
	return 0, 0
}

// listMarkerLen returns the length of a list marker at the start of s
// (after spaces): "1.", "2)", "(3)", "-", "*", "•", "①", "一、", "Step 2:",
// "第二步：", or 0.
func listMarkerLen(s string) int {
	trimmed := strings.TrimLeft(s, " \t")
	lead := len(s) - len(trimmed)
	n := 0
	switch {
	case strings.HasPrefix(trimmed, "- "), strings.HasPrefix(trimmed, "* "), strings.HasPrefix(trimmed, "• "), strings.HasPrefix(trimmed, "· "):
		n = len(trimmed) - len(trimmed[strings.IndexByte(trimmed, ' '):])
	default:
		n = numberedMarkerLen(trimmed)
	}
	if n == 0 {
		return 0
	}
	return lead + n
}

func numberedMarkerLen(s string) int {
	if loc := stepMarker.FindStringIndex(s); loc != nil {
		return loc[1]
	}
	if r, size := utf8.DecodeRuneInString(s); r >= '①' && r <= '⑳' {
		return size
	}
	return 0
}

// inlineMarkerLen matches an inline numbered item such as " 2) " or
// " (3) " inside a line.
func inlineMarkerLen(s string, i int) int {
	if i == 0 || s[i-1] != ' ' || !(isDigit(s[i]) || s[i] == '(' || strings.HasPrefix(s[i:], "（")) {
		return 0
	}
	if loc := inlineMarker.FindStringIndex(s[i:]); loc != nil {
		return loc[1]
	}
	return 0
}

// trimmable is what surrounds a fragment without belonging to it.
func trimmable(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) && r != '+' && r != '=' && r != '^'
}

var (
	stepMarker   = regexp.MustCompile(`^(?:\d{1,2}(?:[.．]\s+|[)）、]\s*)|[(（]\d{1,2}[)）]\s*|[一二三四五六七八九十]{1,3}、\s*|(?i:step\s*\d{1,2}\s*[:：.)]?\s*)|第\s*[0-9一二三四五六七八九十]+\s*步\s*[:：，,、]?\s*)`)
	inlineStep   = regexp.MustCompile(`^(?i:step\s*\d{1,2}\s*[:：.)]\s*)`)
	inlineMarker = regexp.MustCompile(`^(?:[(（]\d{1,2}[)）]|\d{1,2}[)）])\s+`)
)

// stepAt matches "Step 2:" at i.
func stepAt(s string, i int) []int {
	if len(s)-i < 5 || !strings.EqualFold(s[i:i+4], "step") {
		return nil
	}
	return inlineStep.FindStringIndex(s[i:])
}

// firstLine returns s up to its first line break, and at most max bytes:
// enough for a list marker.
func firstLine(s string, max int) string {
	if len(s) > max {
		s = s[:max]
	}
	if k := strings.IndexByte(s, '\n'); k >= 0 {
		s = s[:k]
	}
	return s
}

// thousands reports whether the comma at i separates thousands: a digit
// before it, three after it, and no digit after those.
func thousands(s string, i int) bool {
	if i == 0 || !isDigit(s[i-1]) || i+4 > len(s) {
		return false
	}
	for _, c := range []byte(s[i+1 : i+4]) {
		if !isDigit(c) {
			return false
		}
	}
	return i+4 == len(s) || !isDigit(s[i+4])
}
