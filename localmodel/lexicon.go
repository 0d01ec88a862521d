package localmodel

import (
	_ "embed"
	"strings"
	"sync"
	"unicode/utf8"
)

// A wordSet is a set of words read from a shipped list, with the length in
// runes of its longest entry.
type wordSet struct {
	words    map[string]struct{}
	maxRunes int
}

// newWordSet parses a whitespace-separated list where lines starting with
// '#' are comments.
func newWordSet(lists ...string) *wordSet {
	s := &wordSet{words: map[string]struct{}{}}
	for _, list := range lists {
		for line := range strings.Lines(list) {
			if strings.HasPrefix(line, "#") {
				continue
			}
			for _, w := range strings.Fields(line) {
				s.words[w] = struct{}{}
				s.maxRunes = max(s.maxRunes, utf8.RuneCountInString(w))
			}
		}
	}
	return s
}

// has reports whether w is in the set.
func (s *wordSet) has(w string) bool {
	_, ok := s.words[w]
	return ok
}

var (
	//go:embed zh_words.txt
	zhWordsText string
	//go:embed stop_zh.txt
	zhStopText string
	//go:embed stop_en.txt
	enStopText string
	//go:embed verbs_en.txt
	enVerbText string
	//go:embed verbs_zh.txt
	zhVerbText string
)

// The shipped lists are parsed on first use, so a process that never asks a
// local model for text work pays nothing for them.
var (
	zhStopwords = sync.OnceValue(func() *wordSet { return newWordSet(zhStopText) })
	enStopwords = sync.OnceValue(func() *wordSet { return newWordSet(enStopText) })
	enVerbs     = sync.OnceValue(func() *wordSet { return newWordSet(enVerbText) })
	zhVerbs     = sync.OnceValue(func() *wordSet { return newWordSet(zhVerbText) })
	// zhDictionary holds the segmenter's words: the word list plus the
	// multi-character stopwords and verbs, so that they split off cleanly.
	zhDictionary = sync.OnceValue(func() *wordSet { return newWordSet(zhWordsText, zhStopText, zhVerbText) })
)

// isStopword reports whether a normalised token is a stopword in English or
// Chinese.
func isStopword(norm string) bool {
	return enStopwords().has(norm) || zhStopwords().has(norm)
}

// isCommonVerb reports whether a word is a common Chinese verb, or a common
// English verb or one of its regular forms: "moves", "moved", "stopped".
func isCommonVerb(w string) bool {
	if zhVerbs().has(w) {
		return true
	}
	verbs := enVerbs()
	if verbs.has(w) {
		return true
	}
	for _, suffix := range []string{"s", "es", "ed", "d", "ing"} {
		stem, ok := strings.CutSuffix(w, suffix)
		if !ok || len(stem) < 2 {
			continue
		}
		if verbs.has(stem) || verbs.has(stem+"e") || stem[len(stem)-1] == stem[len(stem)-2] && verbs.has(stem[:len(stem)-1]) {
			return true
		}
	}
	return false
}
