package localmodel

import (
	"strings"
	"unicode/utf8"
)

// hanBoundary holds grammatical characters that never start or end a
// Chinese content word found by discoverHanTerms.
const hanBoundary = "的了着过吗呢吧啊呀么和与及或也都就而把被从向于之这那我你他她它是在很又再才只等并且但却所每各该某将让给"

// Bounds of document term discovery.
const (
	minTermFreq  = 2
	maxHanRunLen = 400 // runes scanned per run, to bound the work
)

// discoverHanTerms finds Chinese terms that the dictionary may lack by
// their repetition in the document: n-grams of 2 to maxExtraRunes
// characters that occur at least twice, do not start or end with a
// grammatical character, and are not always part of one longer repeated
// n-gram (the substring reduction of Lin and Yu, 2001). The result maps
// each term to its frequency and feeds segmentHan.
func discoverHanTerms(text string) map[string]int {
	counts := map[string]int{}
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !isHan(r) {
			i += size
			continue
		}
		j := scanWhile(text, i, isHan)
		countNGrams(text[i:j], counts)
		i = j
	}
	terms := map[string]int{}
	for g, n := range counts {
		if n >= minTermFreq && !strings.ContainsRune(hanBoundary, firstRune(g)) && !strings.ContainsRune(hanBoundary, lastRune(g)) {
			terms[g] = n
		}
	}
	for _, g := range subsumed(terms) {
		delete(terms, g)
	}
	return terms
}

// countNGrams counts the 2- to maxExtraRunes-grams of one Han run.
func countNGrams(run string, counts map[string]int) {
	offs := runeOffsets(run)
	n := min(len(offs)-1, maxHanRunLen)
	for i := 0; i < n; i++ {
		for l := 2; l <= maxExtraRunes && i+l <= n; l++ {
			counts[run[offs[i]:offs[i+l]]]++
		}
	}
}

// subsumed lists the terms that always occur inside one term a character
// longer, as its prefix or suffix: they are no terms of their own.
func subsumed(terms map[string]int) []string {
	var out []string
	for longer, m := range terms {
		if utf8.RuneCountInString(longer) < 3 {
			continue
		}
		_, first := utf8.DecodeRuneInString(longer)
		_, last := utf8.DecodeLastRuneInString(longer)
		for _, part := range []string{longer[first:], longer[:len(longer)-last]} {
			if terms[part] == m {
				out = append(out, part)
			}
		}
	}
	return out
}

func firstRune(s string) rune { r, _ := utf8.DecodeRuneInString(s); return r }
func lastRune(s string) rune  { r, _ := utf8.DecodeLastRuneInString(s); return r }
