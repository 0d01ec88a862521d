package localmodel

import (
	"regexp"
	"strings"
)

// spans records which byte ranges of a text an extractor has claimed.
type spans struct {
	text  string
	taken [][2]int
	lines [][2]int // the pieces patterns run over; see pieces
}

// maxPieceBytes bounds the pieces of text a pattern runs over. Go's regexp
// uses its fast backtracking matcher only on short inputs, and no entity
// spans a line, so matching piece by piece is several times faster.
const maxPieceBytes = 1 << 10

// pieces splits text at line ends, and long lines at the last space before
// maxPieceBytes, preferring one after a sentence stop.
func pieces(text string) [][2]int {
	var out [][2]int
	for start := 0; start < len(text); {
		end := len(text)
		if i := strings.IndexByte(text[start:], '\n'); i >= 0 {
			end = start + i + 1
		}
		if end-start > maxPieceBytes {
			end = start + cutPoint(text[start:start+maxPieceBytes])
		}
		out = append(out, [2]int{start, end})
		start = end
	}
	return out
}

// cutPoint returns where to cut a too-long line: after the last sentence
// stop and space, else after the last space, else at the end.
func cutPoint(s string) int {
	for _, sep := range []string{". ", "。", "! ", "? ", "；", " "} {
		if i := strings.LastIndex(s, sep); i > 0 {
			return i + len(sep)
		}
	}
	return len(s)
}

// free reports whether [a, b) overlaps no claimed span.
func (s *spans) free(a, b int) bool {
	for _, t := range s.taken {
		if a < t[1] && t[0] < b {
			return false
		}
	}
	return true
}

// claim finds the matches of re over free text, lets fix adjust or reject
// each (returning nil), claims the survivors and returns their submatch
// indexes.
func (s *spans) claim(re *regexp.Regexp, fix func(text string, m []int) []int) [][]int {
	if s.lines == nil {
		s.lines = pieces(s.text)
	}
	var out [][]int
	for _, m := range s.matches(re) {
		if fix != nil {
			if m = fix(s.text, m); m == nil {
				continue
			}
		}
		if m[1] <= m[0] || !s.free(m[0], m[1]) {
			continue
		}
		s.taken = append(s.taken, [2]int{m[0], m[1]})
		out = append(out, m)
	}
	return out
}

// matches runs re over each piece and returns submatch indexes into text.
func (s *spans) matches(re *regexp.Regexp) [][]int {
	var out [][]int
	need := requiredText[re]
	for _, p := range s.lines {
		piece := s.text[p[0]:p[1]]
		if need != "" && !strings.ContainsAny(piece, need) {
			continue // the pattern cannot match: skip the regexp engine
		}
		for _, m := range re.FindAllStringSubmatchIndex(piece, -1) {
			for i := range m {
				if m[i] >= 0 {
					m[i] += p[0]
				}
			}
			out = append(out, m)
		}
	}
	return out
}

// group returns submatch i of m, or "" for none (i = 0 means none too).
func (s *spans) group(m []int, i int) string {
	if i == 0 || 2*i+1 >= len(m) || m[2*i] < 0 {
		return ""
	}
	return s.text[m[2*i]:m[2*i+1]]
}

// A datePattern is a date pattern and how to read year, month and day
// from a match; g returns a submatch.
type datePattern struct {
	re  *regexp.Regexp
	ymd func(g func(int) string) (year, month, day int)
}

var datePatterns = []datePattern{
	{isoDate, func(g func(int) string) (int, int, int) { return atoi(g(1)), atoi(g(2)), atoi(g(3)) }},
	{zhDate, func(g func(int) string) (int, int, int) { return atoi(g(1)), atoi(g(2)), atoi(g(3)) }},
	{zhYearMonth, func(g func(int) string) (int, int, int) { return atoi(g(1)), atoi(g(2)), 0 }},
	{enDateMDY, func(g func(int) string) (int, int, int) { return atoi(g(3)), monthNumber(g(1)), atoi(g(2)) }},
	{enDateDMY, func(g func(int) string) (int, int, int) { return atoi(g(3)), monthNumber(g(2)), atoi(g(1)) }},
	{enMonthYear, func(g func(int) string) (int, int, int) { return atoi(g(2)), monthNumber(g(1)), 0 }},
}

// iso returns the ISO form of a match, or "" when it is no real date.
func (p datePattern) iso(taken *spans, m []int) string {
	return isoDateOf(p.ymd(func(i int) string { return taken.group(m, i) }))
}

// extractDates finds ISO, Chinese and English dates.
func extractDates(text string, taken *spans) []dateMention {
	out := []dateMention{}
	for _, p := range datePatterns {
		valid := func(_ string, m []int) []int {
			if p.iso(taken, m) == "" {
				return nil
			}
			return m
		}
		for _, m := range taken.claim(p.re, valid) {
			out = append(out, dateMention{Text: strings.TrimSpace(text[m[0]:m[1]]), ISO: p.iso(taken, m), pos: m[0]})
		}
	}
	return out
}

// monthNumber returns the number of an English month name or abbreviation.
func monthNumber(name string) int {
	const months = "janfebmaraprmayjunjulaugsepoctnovdec"
	if len(name) < 3 {
		return 0
	}
	return strings.Index(months, strings.ToLower(name[:3]))/3 + 1
}

// A moneyPattern is a money pattern and the submatches of its parts; zero
// means the pattern has no such part.
type moneyPattern struct {
	re                               *regexp.Regexp
	amount, currency, scaleA, scaleB int
}

var moneyPatterns = []moneyPattern{
	{re: moneyBefore, amount: 2, currency: 1, scaleA: 3, scaleB: 4},
	{re: moneyAfter, amount: 1, currency: 3, scaleA: 2},
}

// extractMoney finds amounts with a currency before or after them.
func extractMoney(text string, taken *spans) []moneyMention {
	out := []moneyMention{}
	for _, p := range moneyPatterns {
		for _, m := range taken.claim(p.re, nil) {
			amount, ok := parseAmount(taken.group(m, p.amount))
			if !ok {
				continue
			}
			scale := scaleOf(taken.group(m, p.scaleA) + taken.group(m, p.scaleB))
			out = append(out, moneyMention{
				Amount:   amount * scale,
				Currency: currencyCode(taken.group(m, p.currency)),
				Text:     strings.TrimSpace(text[m[0]:m[1]]),
				pos:      m[0],
			})
		}
	}
	return out
}
