package rules

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokKind says how a token was made; CJK unigrams count for less than
// bigrams, and only words and bigrams take part in phrase matches.
type tokKind uint8

const (
	kindWord tokKind = iota
	kindBigram
	kindUnigram
	kindNumber
	kindOperator
)

// token is one matching unit: a stemmed Latin word, a CJK character bigram
// or unigram, a number or an arithmetic operator.
type token struct {
	term       string
	start, end int // byte offsets in the tokenized text
	kind       tokKind
}

// numberTerm stands for every number, so "What is 3 + 4?" matches "What is
// 17 * 23?" in a catalog example.
const numberTerm = "#num"

// tokenize splits text into tokens. It drops stopwords but keeps their
// offsets out of the result, so phrase matches skip over them.
func tokenize(text string, out []token) []token {
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case isCJK(r):
			j := cjkRunEnd(text, i)
			out = cjkTokens(text, i, j, out)
			i = j
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			j := wordEnd(text, i)
			out = wordToken(text, i, j, out)
			i = j
		case isOperator(r) && nearDigit(text, i, size, r):
			out = append(out, token{term: string(r), start: i, end: i + size, kind: kindOperator})
			i += size
		default:
			i += size
		}
	}
	return out
}

func wordEnd(text string, i int) int {
	j := i
	for j < len(text) {
		r, size := utf8.DecodeRuneInString(text[j:])
		switch {
		case isCJK(r):
			return j
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			j += size
		case j > i && joinsWord(text, j, size, r):
			j += size
		default:
			return j
		}
	}
	return j
}

// joinsWord reports whether punctuation at j belongs to the word around it:
// an apostrophe or hyphen between letters ("John's", "to-do"), or a
// decimal point or thousands separator between digits.
func joinsWord(text string, j, size int, r rune) bool {
	if j+size >= len(text) {
		return false
	}
	prev, _ := utf8.DecodeLastRuneInString(text[:j])
	next, _ := utf8.DecodeRuneInString(text[j+size:])
	switch r {
	case '\'', '’', '-':
		return unicode.IsLetter(prev) && unicode.IsLetter(next) && !isCJK(prev) && !isCJK(next)
	case '.', ',':
		return unicode.IsDigit(prev) && unicode.IsDigit(next)
	}
	return false
}

func wordToken(text string, i, j int, out []token) []token {
	w := text[i:j]
	if isNumber(w) {
		return append(out, token{term: numberTerm, start: i, end: j, kind: kindNumber})
	}
	w = strings.ToLower(w)
	if englishStop[w] {
		return out
	}
	return append(out, token{term: stem(w), start: i, end: j, kind: kindWord})
}

func isNumber(w string) bool {
	for _, r := range w {
		if !unicode.IsDigit(r) && r != '.' && r != ',' {
			return false
		}
	}
	return true
}

func cjkRunEnd(text string, i int) int {
	j := i
	for j < len(text) {
		r, size := utf8.DecodeRuneInString(text[j:])
		if !isCJK(r) {
			break
		}
		j += size
	}
	return j
}

// cjkTokens emits the character bigrams of a run of CJK text, and its
// unigrams, leaving out function characters (的, 了, 把) and the bigrams
// that hold one. Bigrams stand in for words, which Chinese does not
// separate with spaces.
func cjkTokens(text string, i, j int, out []token) []token {
	prev, prevStart := "", 0
	for k := i; k < j; {
		_, size := utf8.DecodeRuneInString(text[k:])
		ch := text[k : k+size]
		if prev != "" && !cjkStop[prev] && !cjkStop[ch] {
			out = append(out, token{term: text[prevStart : k+size], start: prevStart, end: k + size, kind: kindBigram})
		}
		if !cjkStop[ch] {
			out = append(out, token{term: ch, start: k, end: k + size, kind: kindUnigram})
		}
		prev, prevStart = ch, k
		k += size
	}
	return out
}

func isCJK(r rune) bool {
	switch {
	case r < 0x2E80: // below every CJK block
		return false
	case r >= 0x4E00 && r <= 0x9FFF, r >= 0x3040 && r <= 0x30FF, r >= 0xAC00 && r <= 0xD7A3:
		return true // the common ideographs, kana and Hangul syllables
	}
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) ||
		unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r)
}

func isOperator(r rune) bool {
	return strings.ContainsRune("+-*/×÷^=%()（）", r)
}

// nearDigit reports whether an operator stands next to a digit or another
// operator, ignoring spaces, so a hyphen in "well-known" is not arithmetic.
func nearDigit(text string, i, size int, r rune) bool {
	if r == '+' || r == '*' || r == '×' || r == '÷' || r == '=' || r == '^' {
		return true
	}
	before := strings.TrimRight(text[:i], " ")
	after := strings.TrimLeft(text[i+size:], " ")
	p, _ := utf8.DecodeLastRuneInString(before)
	n, _ := utf8.DecodeRuneInString(after)
	return unicode.IsDigit(p) || unicode.IsDigit(n) || (r != '-' && (p == ')' || n == '('))
}

// stem strips common English inflectional and derivational endings, so
// that summary, summarize and summarized meet on one term, and so do the
// names tools take from their work: a summarizer, a trimmer, a captioner,
// a description of what "describe" asks. It is deliberately small: both
// sides of a match go through it.
func stem(w string) string {
	w = strings.TrimSuffix(strings.TrimSuffix(w, "'s"), "’s")
	if len(w) <= 3 {
		return w
	}
	for _, suf := range suffixesByLast[w[len(w)-1]] {
		min := 4
		if suf == "s" {
			if strings.HasSuffix(w, "ss") || strings.HasSuffix(w, "us") || strings.HasSuffix(w, "is") {
				continue
			}
			min = 3
		}
		if strings.HasSuffix(w, suf) && len(w)-len(suf) >= min {
			return restem(w[:len(w)-len(suf)], suf)
		}
	}
	return restem(w, "")
}

// restem finishes a stem: an agent noun's stem is stemmed once more
// (captioner, caption), a doubled final consonant left by a suffix is
// undone (trimmer, trimming: trim), and the "script" of a noun meets the
// "scrib" of its verb (description, describe).
func restem(w, suf string) string {
	switch suf {
	case "er", "ers", "or", "ors":
		if s := stem(w); len(s) >= 4 {
			w = s
		}
	}
	switch suf {
	case "er", "ers", "ing", "ings", "ed":
		if n := len(w); n >= 5 && w[n-1] == w[n-2] && !strings.ContainsRune("aeioulsz", rune(w[n-1])) {
			w = w[:n-1]
		}
	}
	if strings.HasSuffix(w, "script") {
		w = w[:len(w)-len("script")] + "scrib"
	}
	return w
}

// stemSuffixes are tried longest first; suffixesByLast files them by
// their last letter, so a word is checked against a handful only.
var stemSuffixes = []string{
	"ifications", "ification", "izations", "ization", "isations", "isation",
	"ifiers", "ifier", "izers", "izer", "isers", "iser",
	"ifying", "ified", "ifies", "ify", "fully", "ful",
	"izing", "ising", "ized", "ised", "izes", "ises", "ize", "ise",
	"ings", "ing", "ions", "ion", "ies", "ied", "ers", "er", "ors", "or",
	"ed", "es", "ly", "s", "e", "y",
}

var suffixesByLast = func() map[byte][]string {
	m := map[byte][]string{}
	for _, s := range stemSuffixes {
		m[s[len(s)-1]] = append(m[s[len(s)-1]], s)
	}
	return m
}()

var englishStop = setOf(
	"a", "an", "the", "of", "and", "or", "to", "in", "on", "at", "by", "for", "with",
	"this", "that", "these", "those", "it", "its", "is", "are", "was", "were", "be",
	"been", "me", "my", "i", "you", "your", "we", "our", "us", "he", "she", "they",
	"them", "their", "his", "her", "can", "could", "would", "will", "should", "shall",
	"please", "do", "does", "did", "so", "as", "some", "any", "also", "then", "just",
	"too", "very", "really", "kindly", "let", "s", "t", "up", "about", "here", "there",
	"all", "have", "has", "had", "get", "give", "want", "need", "like", "one", "also",
)

var cjkStop = setOf(
	"的", "了", "是", "在", "把", "这", "那", "个", "请", "和", "并", "及", "与", "或",
	"也", "就", "都", "一", "它", "其", "您", "你", "我", "他", "她", "们", "吗", "呢",
	"吧", "啊", "呀", "将", "给", "帮", "段", "些", "该", "对", "从", "让", "再",
	"然", "后", "先", "又", "还", "很", "有", "为", "着", "过", "地", "得", "之", "以",
)

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}
