package rules

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// A count in a step ("in 3 sentences", "top 5", "用三句话", "100字以内")
// becomes an argument named by its unit: sentences, words, characters,
// paragraphs, lines or items.

var englishNumbers = map[string]int{
	"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
	"ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "fifty": 50, "hundred": 100,
}

var englishUnits = map[string]string{
	"sentenc": "sentences", "word": "words", "character": "characters", "char": "characters",
	"paragraph": "paragraphs", "line": "lines", "bullet": "items", "point": "items", "item": "items",
}

// measures are units of size, time and angle: "128 px wide", "90
// degrees", "30 seconds" measure, they count no results.
var measures = setOf("px", "pixel", "pixels", "percent", "degree", "degrees", "deg", "kb", "mb", "gb", "ms",
	"second", "seconds", "minute", "minutes", "hour", "hours", "dpi", "fps", "hz", "khz", "db", "cm", "mm", "inch", "inches")

// chineseUnits are the classifiers after a Chinese count, longest first;
// an empty unit is a bare classifier (个, 条) that counts only before a
// word naming the step's result.
var chineseUnits = []struct{ word, unit string }{
	{"句话", "sentences"}, {"个字", "characters"}, {"个词", "words"}, {"句", "sentences"}, {"字", "characters"},
	{"词", "words"}, {"段", "paragraphs"}, {"行", "lines"}, {"个", ""}, {"条", ""}, {"点", ""}, {"项", ""},
}

// countMatch is a count found in a step.
type countMatch struct {
	start, end int    // the words that ask for it
	n          int    // how many
	unit       string // sentences, words, ..., or "" when the unit is a noun
	noun       string // the word after a bare count, for the caller to judge
	top        bool   // "top 5", "前5个": items, whatever follows
}

// counts finds the counts in text, whose Latin words and numbers are
// words.
func counts(text string, words []word) []countMatch {
	if !mayCount(text) {
		return nil
	}
	return append(englishCounts(text, words), chineseCounts(text)...)
}

func englishCounts(text string, words []word) []countMatch {
	var out []countMatch
	for i, w := range words {
		n := englishNumber(w.text)
		if next, _ := utf8.DecodeRuneInString(text[w.end:]); n <= 0 || n > 1000 || isCJK(next) {
			continue // "100字" is a Chinese count
		}
		m := countMatch{start: w.start, end: w.end, n: n}
		if i > 0 && words[i-1].text == "top" && onlySpace(text[words[i-1].end:w.start]) {
			m.start, m.top = words[i-1].start, true
		}
		for j := i + 1; j < len(words) && j <= i+2; j++ {
			if !onlySpace(strings.ReplaceAll(text[words[j-1].end:words[j].start], "-", " ")) {
				break
			}
			if m.noun == "" {
				m.noun = words[j].text
			}
			if u, ok := englishUnits[words[j].stem]; ok {
				m.unit, m.end = u, words[j].end
				break
			}
		}
		if !measures[m.noun] {
			out = append(out, m)
		}
	}
	return out
}

func chineseCounts(text string) []countMatch {
	var out []countMatch
	for i := 0; i < len(text); {
		j := numeralEnd(text, i)
		if j == i {
			_, size := utf8.DecodeRuneInString(text[i:])
			i += size
			continue
		}
		m := countMatch{start: i, n: chineseNumber(text[i:j])}
		if strings.HasSuffix(text[:i], "前") {
			m.start, m.top = i-len("前"), true
		}
		k := j
		for k < len(text) && text[k] == ' ' {
			k++
		}
		matched := false
		for _, u := range chineseUnits {
			if strings.HasPrefix(text[k:], u.word) {
				m.unit, m.end, matched = u.unit, k+len(u.word), true
				m.noun = text[m.end:cjkAfter(text, m.end, len(text), 2)]
				break
			}
		}
		if matched && m.n > 0 && m.n <= 1000 {
			out = append(out, m)
		}
		i = max(j, i+1)
	}
	return out
}

// numeralEnd returns where a run of digits or Chinese numerals at i ends.
func numeralEnd(text string, i int) int {
	j := i
	for j < len(text) {
		r, size := utf8.DecodeRuneInString(text[j:])
		if !(r >= '0' && r <= '9' || strings.ContainsRune("一二两三四五六七八九十百", r)) {
			break
		}
		j += size
	}
	return j
}

// count returns the unit and number step s asks for, or "" when it asks
// for none. A count before a word that names the step's own result ("5
// keywords", "5个关键词") or after "top" counts items; "两个数" does not.
func (p *Planner) count(r *request, s step) (string, string) {
	for _, m := range r.countMatches {
		if m.start < s.start || m.end > s.end {
			continue
		}
		switch {
		case m.unit != "":
			return m.unit, strconv.Itoa(m.n)
		case m.top || p.namesResult(m.noun, s.capability):
			return "items", strconv.Itoa(m.n)
		}
	}
	return "", ""
}

func (p *Planner) namesResult(s string, capability int) bool {
	for _, t := range tokenize(s, nil) {
		if t.kind != kindUnigram && p.ix.caps[capability].refTerms[t.term] {
			return true
		}
	}
	return false
}

func onlySpace(s string) bool { return strings.TrimSpace(s) == "" }

func englishNumber(s string) int {
	if s != "" && isDigit(s[0]) {
		n, _ := strconv.Atoi(s)
		return n
	}
	return englishNumbers[s]
}

// chineseNumber reads digits or Chinese numerals up to 百: 三, 十五, 二十, 一百.
func chineseNumber(s string) int {
	if s != "" && isDigit(s[0]) {
		n, _ := strconv.Atoi(s)
		return n
	}
	digits := map[rune]int{'一': 1, '二': 2, '两': 2, '三': 3, '四': 4, '五': 5, '六': 6, '七': 7, '八': 8, '九': 9}
	total, cur := 0, 0
	for _, r := range s {
		switch {
		case r == '十':
			total += max(cur, 1) * 10
			cur = 0
		case r == '百':
			total += max(cur, 1) * 100
			cur = 0
		default:
			cur = digits[r]
		}
	}
	return total + cur
}

// mayCount is a cheap test that spares most text the count scanners: a
// count needs a digit, a Chinese numeral or an English number word.
func mayCount(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			return true
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[i:])
			if strings.ContainsRune("一二两三四五六七八九十百", r) {
				return true
			}
			i += size
		case c|0x20 >= 'a' && c|0x20 <= 'z':
			j := i
			for j < len(s) && s[j]|0x20 >= 'a' && s[j]|0x20 <= 'z' {
				j++
			}
			if j-i >= 3 && j-i <= 7 && englishNumbers[strings.ToLower(s[i:j])] > 0 {
				return true
			}
			i = j
		default:
			i++
		}
	}
	return false
}
