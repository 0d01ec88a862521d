package localmodel

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// A sentence is a span of the source text.
type sentence struct {
	text  string
	start int
}

// Abbreviations whose period never ends a sentence ("Dr. Smith", "e.g. a"),
// and those whose period ends one only before a capital ("... Ltd. The").
var (
	abbrevTitles = newWordSet(`mr mrs ms dr prof sr st mt gen sen rep gov col capt lt sgt rev hon
		e.g i.e vs cf approx no nos fig figs al ca dept est vol pp p ch sec art ed eds op
		jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k a.m p.m ph.d`)
	abbrevFinal = newWordSet(`etc inc ltd co corp jr bros llc plc`)
)

// splitSentences splits text into sentences. Chinese and Japanese stops
// (。！？；) always end one; '.' ends one unless it is a decimal point, part
// of a web address or abbreviation, or an initial; '!' and '?' always do.
// A blank line, or a line starting with a list bullet, starts a new one.
func splitSentences(text string) []sentence {
	var out []sentence
	start := 0
	emit := func(end int) {
		if s := strings.TrimSpace(text[start:end]); s != "" {
			out = append(out, sentence{text: s, start: start + strings.Index(text[start:end], s)})
		}
		start = end
	}
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case r == '。' || r == '！' || r == '？' || r == '；' || r == '!' || r == '?' || r == '…' && cjkBefore(text, i):
			emit(skipClosers(text, scanWhile(text, i, isStop)))
			i = max(start, i+size)
		case r == '.':
			end := scanWhile(text, i, func(r rune) bool { return r == '.' })
			if periodEnds(text, i, end) {
				emit(skipClosers(text, end))
			}
			i = max(start, end)
		case r == '\n' && newParagraph(text, i+1):
			emit(i)
			i += size
		default:
			i += size
		}
	}
	emit(len(text))
	return out
}

func isStop(r rune) bool {
	return r == '。' || r == '！' || r == '？' || r == '；' || r == '!' || r == '?' || r == '…'
}

// cjkBefore reports whether the rune before i is Chinese or Japanese, where
// an ellipsis (……) ends a sentence.
func cjkBefore(text string, i int) bool {
	r, _ := utf8.DecodeLastRuneInString(text[:i])
	return isHan(r) || isKana(r) || r == '…'
}

// skipClosers moves past closing quotes and brackets after a stop.
func skipClosers(text string, i int) int {
	return scanWhile(text, i, func(r rune) bool { return strings.ContainsRune(`"'”’)]}」』】）》`, r) })
}

// newParagraph reports whether the line starting at i begins a new unit: it
// is blank, or starts with a list bullet.
func newParagraph(text string, i int) bool {
	rest := strings.TrimLeft(text[i:], " \t")
	if rest == "" || rest[0] == '\n' || rest[0] == '\r' {
		return true
	}
	r, _ := utf8.DecodeRuneInString(rest)
	return strings.ContainsRune("-*•·", r) || unicode.IsDigit(r) && listNumber(rest)
}

// listNumber reports whether s starts like "1." or "2)" and a space.
func listNumber(s string) bool {
	j := scanWhile(s, 0, unicode.IsDigit)
	return j < len(s)-1 && (s[j] == '.' || s[j] == ')') && s[j+1] == ' '
}

// periodEnds decides whether the dots text[i:end] end a sentence.
func periodEnds(text string, i, end int) bool {
	next, _ := utf8.DecodeRuneInString(text[end:])
	if end == len(text) {
		return true
	}
	if !unicode.IsSpace(next) && !strings.ContainsRune(`"'”’)]}`, next) {
		return false // 3.14, example.com, e.g.x
	}
	after := strings.TrimLeft(text[end:], " \t\r\n\"'”’)]}")
	first, _ := utf8.DecodeRuneInString(after)
	if after == "" || end-i > 1 && unicode.IsUpper(first) {
		return true
	}
	if unicode.IsLower(first) {
		return false // a sentence does not start in lower case
	}
	word := strings.ToLower(wordBefore(text, i))
	switch {
	case abbrevTitles.has(word):
		return false
	case abbrevFinal.has(word):
		return unicode.IsUpper(first)
	case utf8.RuneCountInString(word) == 1 && unicode.IsUpper([]rune(wordBefore(text, i))[0]):
		return false // an initial: "J. K. Rowling"
	}
	return end-i == 1 || unicode.IsUpper(first) || !unicode.IsLetter(first)
}

// wordBefore returns the word (letters and inner dots) ending at i.
func wordBefore(text string, i int) string {
	j := i
	for j > 0 {
		r, size := utf8.DecodeLastRuneInString(text[:j])
		if !unicode.IsLetter(r) && r != '.' {
			break
		}
		j -= size
	}
	return strings.Trim(text[j:i], ".")
}
