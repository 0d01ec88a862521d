package rules

import (
	"strings"
	"unicode"
)

// writtenIn guesses the language a text is written in, as a language code,
// or "" when it cannot tell: by script for the languages that have one of
// their own, by a handful of common words for the Latin-script languages
// requests are mostly written in. It only has to tell whether a text
// already is in the language a step asks for, so a guess is enough.
func writtenIn(text string) string {
	if code := byScript(text); code != "" {
		return code
	}
	votes := map[string]int{}
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && r != '\'' }) {
		for _, code := range commonWords[w] {
			votes[code]++
		}
	}
	best, bestN, tie := "", 0, false
	for code, n := range votes {
		switch {
		case n > bestN:
			best, bestN, tie = code, n, false
		case n == bestN:
			tie = true // a tie says nothing, whatever the order of the map
		}
	}
	if tie {
		return ""
	}
	return best
}

// byScript names the language of a text by its letters: kana is
// Japanese, Hangul Korean, other CJK Chinese, and so on; "" for Latin.
func byScript(text string) string {
	han := false
	for _, r := range text {
		switch {
		case unicode.In(r, unicode.Hiragana, unicode.Katakana):
			return "ja"
		case unicode.Is(unicode.Hangul, r):
			return "ko"
		case unicode.Is(unicode.Han, r):
			han = true
		case unicode.Is(unicode.Cyrillic, r):
			return "ru"
		case unicode.Is(unicode.Arabic, r):
			return "ar"
		case unicode.Is(unicode.Greek, r):
			return "el"
		case unicode.Is(unicode.Hebrew, r):
			return "he"
		case unicode.Is(unicode.Thai, r):
			return "th"
		case unicode.Is(unicode.Devanagari, r):
			return "hi"
		}
	}
	if han {
		return "zh"
	}
	return ""
}

// commonWords are the short words that mark a Latin-script language; a
// word some languages share counts for each of them.
var commonWords = func() map[string][]string {
	lists := map[string]string{
		"en": "the and is are of to in it you this that with for was what how where please thank hello",
		"fr": "le la les et est un une des du je vous nous il elle bonjour merci où est-ce c'est pas avec pour dans sur",
		"de": "der die das und ist nicht ein eine ich du sie wir mit für auf guten danke wo bitte",
		"es": "el la los las y es un una de que no por para con hola gracias dónde buenos cómo estás está",
		"it": "il lo la gli e è un una di che non per con ciao grazie dove sono buongiorno",
		"pt": "o a os as e é um uma de que não por para com olá obrigado obrigada onde bom",
		"nl": "de het een en is niet ik je wij met voor op dank goedemorgen waar",
	}
	m := map[string][]string{}
	for code, words := range lists {
		for _, w := range strings.Fields(words) {
			m[w] = append(m[w], code)
		}
	}
	return m
}()
