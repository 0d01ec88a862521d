package localmodel

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokenKind says what a token is made of.
type tokenKind uint8

const (
	tokWord   tokenKind = iota // a space-delimited word: Latin, Cyrillic, Hangul, ...
	tokNumber                  // digits, possibly with separators: 3.14, 1,234
	tokHan                     // a Chinese word from the segmenter
	tokKana                    // one Japanese kana character
	tokPunct                   // punctuation or a symbol: a phrase boundary
)

// A token is one unit of text with its byte offset in the source.
type token struct {
	text  string
	norm  string // lower case, typographic apostrophes made plain
	kind  tokenKind
	start int
}

// tokenize splits text into words, numbers, Chinese words and punctuation.
// Whitespace is dropped; Han runs go through segmentHan with extra words.
func tokenize(text string, extra map[string]int) []token {
	var out []token
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case isHan(r):
			j := scanWhile(text, i, isHan)
			for _, w := range segmentHan(text[i:j], extra) {
				out = append(out, token{text: w, norm: w, kind: tokHan, start: i})
				i += len(w)
			}
		case isKana(r):
			out = append(out, token{text: text[i : i+size], norm: text[i : i+size], kind: tokKana, start: i})
			i += size
		case isWordRune(r):
			j := scanWord(text, i)
			out = append(out, wordToken(text[i:j], i))
			i = j
		case unicode.IsSpace(r):
			i += size
		default:
			out = append(out, token{text: text[i : i+size], norm: text[i : i+size], kind: tokPunct, start: i})
			i += size
		}
	}
	return out
}

// wordToken classifies and normalises one space-delimited word.
func wordToken(w string, start int) token {
	kind := tokNumber
	for _, r := range w {
		if unicode.IsLetter(r) {
			kind = tokWord
			break
		}
	}
	norm := strings.ToLower(strings.ReplaceAll(w, "’", "'"))
	return token{text: w, norm: norm, kind: kind, start: start}
}

// scanWhile returns the end of the run of runes from i that satisfy ok.
func scanWhile(text string, i int, ok func(rune) bool) int {
	for i < len(text) {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !ok(r) {
			break
		}
		i += size
	}
	return i
}

// scanWord returns the end of the word starting at i. Apostrophes, hyphens
// and underscores join letters; '.' and ',' join digits only.
func scanWord(text string, i int) int {
	prev := rune(0)
	for i < len(text) {
		r, size := utf8.DecodeRuneInString(text[i:])
		if isWordRune(r) {
			prev = r
			i += size
			continue
		}
		if !isJoiner(r) || i+size >= len(text) {
			break
		}
		next, _ := utf8.DecodeRuneInString(text[i+size:])
		digits := r == '.' || r == ','
		if !isWordRune(next) || digits && !(unicode.IsDigit(prev) && unicode.IsDigit(next)) {
			break
		}
		prev = r
		i += size
	}
	return i
}
