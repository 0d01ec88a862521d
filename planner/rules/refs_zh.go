package rules

import (
	"strings"
	"unicode/utf8"
)

var (
	zhDeterminers  = []string{"上面的", "前面的", "刚才的", "这些", "那些", "这个", "那个", "这段", "这篇", "这句", "这条", "这份", "上述", "以上", "该", "此", "这"}
	zhPrevDets     = setOf("这个", "那个", "这些", "那些")
	zhResultNouns  = []string{"结果", "输出", "答案"}
	zhPluralMarks  = []string{"所有", "全部", "以上", "上述", "这些", "那些", "各"}
	zhObjectMarks  = []string{"把", "将", "对"}
	zhDoneSuffixes = []string{"出来", "后", "过", "好", "出", "完"}
)

// zhAnchors are the characters a Chinese referring phrase starts with.
var zhAnchors = func() map[rune]bool {
	m := map[rune]bool{'它': true, '其': true, '的': true}
	for _, list := range [][]string{zhResultNouns, zhObjectMarks, zhDeterminers} {
		for _, w := range list {
			r, _ := utf8.DecodeRuneInString(w)
			m[r] = true
		}
	}
	return m
}()

// zhWindow is how many characters around an anchor may name a step.
const zhWindow = 4

// chineseRefs finds referring phrases in Chinese: pronouns (它, 它们),
// result nouns (结果), determiner phrases (这个, 这段文字, 上述摘要),
// modifiers before 的 (翻译后的内容, 摘要的关键词) and objects of 把/将/对.
func (p *Planner) chineseRefs(r *request, start, end int, prev []step, found []ref) []ref {
	text := r.masked
	for i := start; i < end; {
		c, size := utf8.DecodeRuneInString(text[i:])
		if !isCJK(c) {
			i += size
			continue
		}
		if f, ok := p.chineseRefAt(r, i, start, end, prev); ok {
			found = append(found, f)
		}
		i += size
	}
	return found
}

func (p *Planner) chineseRefAt(r *request, i, start, end int, prev []step) (ref, bool) {
	text := r.masked
	if c, _ := utf8.DecodeRuneInString(text[i:]); !zhAnchors[c] {
		return ref{}, false
	}
	rest := text[i:end]
	switch {
	case strings.HasPrefix(rest, "它们"):
		return ref{kind: refPrev, start: i, end: i + len("它们")}, true
	case strings.HasPrefix(rest, "它"), strings.HasPrefix(rest, "其") && weakQi(text, i, end):
		return ref{kind: refWeak, start: i, end: i + len("它")}, true
	case strings.HasPrefix(rest, "的"):
		return p.modifierRef(r, i, start, prev)
	}
	if n := prefixIn(rest, zhResultNouns); n > 0 {
		return p.zhResultRef(r, i, i+n, start, prev), true
	}
	if n := prefixIn(rest, zhObjectMarks); n > 0 {
		return p.windowRef(r, i, i+n, end, prev)
	}
	if n := prefixIn(rest, zhDeterminers); n > 0 {
		return p.determinerRef(r, i, i+n, end, prev), true
	}
	return ref{}, false
}

func prefixIn(s string, list []string) int {
	for _, w := range list {
		if strings.HasPrefix(s, w) {
			return len(w)
		}
	}
	return 0
}

// weakQi tells 其 the pronoun from 其 in 其他, 其中, 尤其.
func weakQi(text string, i, end int) bool {
	next, _ := utf8.DecodeRuneInString(text[i+len("其") : end])
	prev, _ := utf8.DecodeLastRuneInString(text[:i])
	return !strings.ContainsRune("他中次实余它后", next) && !strings.ContainsRune("尤极与", prev)
}

// modifierRef resolves the words before 的 (翻译后的, 摘要的) to a step.
func (p *Planner) modifierRef(r *request, de, start int, prev []step) (ref, bool) {
	text := r.masked
	stop := de
	for _, suf := range zhDoneSuffixes {
		if strings.HasSuffix(text[start:stop], suf) {
			stop -= len(suf)
			break
		}
	}
	from := cjkBefore(text, stop, start, zhWindow)
	if s, at := p.resolveSpan(r, from, stop, prev); s >= 0 {
		return ref{kind: refStep, start: at, end: de + len("的"), step: s}, true
	}
	return ref{}, false
}

// zhResultRef handles 结果 and the like: a step named before 的, every
// result after a plural mark, else the step before.
func (p *Planner) zhResultRef(r *request, i, j, start int, prev []step) ref {
	text := r.masked
	if strings.HasSuffix(text[start:i], "的") {
		if f, ok := p.modifierRef(r, i-len("的"), start, prev); ok {
			f.end = j
			return f
		}
	}
	before := text[cjkBefore(text, i, start, 3):i]
	for _, m := range zhPluralMarks {
		if k := strings.Index(before, m); k >= 0 {
			return ref{kind: refAll, start: i - len(before) + k, end: j}
		}
	}
	return ref{kind: refPrev, start: i, end: j}
}

// windowRef resolves the object after 把, 将 or 对 to a step.
func (p *Planner) windowRef(r *request, i, j, end int, prev []step) (ref, bool) {
	to := cjkAfter(r.masked, j, end, zhWindow)
	if s, at := p.resolveSpan(r, j, to, prev); s >= 0 {
		last := p.resolveEnd(r, j, to, prev[s].capability)
		return ref{kind: refStep, start: i, end: max(at, last), step: s}, true
	}
	return p.impliedSpan(r, i, j, to)
}

// impliedSpan resolves text[j:to] against every capability; the reference
// starts at i.
func (p *Planner) impliedSpan(r *request, i, j, to int) (ref, bool) {
	if j >= to {
		return ref{}, false
	}
	return p.implied(r, tokensIn(r.toks, j, to), i)
}

// determinerRef classifies 这个, 这段文字, 上述摘要 and the like.
func (p *Planner) determinerRef(r *request, i, j, end int, prev []step) ref {
	text := r.masked
	det := text[i:j]
	to := cjkAfter(text, j, end, zhWindow)
	if s, _ := p.resolveSpan(r, j, to, prev); s >= 0 {
		return ref{kind: refStep, start: i, end: p.resolveEnd(r, j, to, prev[s].capability), step: s}
	}
	if n := payloadNounEnd(text[j:to]); n > 0 {
		return ref{kind: refPayload, start: i, end: j + n}
	}
	if f, ok := p.impliedSpan(r, i, j, to); ok {
		return f
	}
	if zhPrevDets[det] {
		return ref{kind: refPrev, start: i, end: j}
	}
	return ref{kind: refWeak, start: i, end: j}
}

// payloadNounEnd returns where the first payload noun in s ends, or 0.
func payloadNounEnd(s string) int {
	if strings.HasPrefix(s, "话") {
		return len("话")
	}
	for _, t := range tokenize(s, nil) {
		if t.kind == kindBigram && payloadNouns[t.term] {
			return t.end
		}
	}
	return 0
}

// resolveSpan resolves text[from:to] to an earlier step and returns where
// the naming words start.
func (p *Planner) resolveSpan(r *request, from, to int, prev []step) (int, int) {
	if from >= to {
		return -1, 0
	}
	toks := tokensIn(r.toks, from, to)
	s, _ := p.resolve(r, toks, prev)
	if s < 0 {
		return -1, 0
	}
	at := to
	for _, t := range toks {
		if t.kind == kindBigram && p.ix.caps[prev[s].capability].refTerms[t.term] && t.start < at {
			at = t.start
		}
	}
	return s, at
}

// resolveEnd returns where the words naming capability c end in
// [from, to).
func (p *Planner) resolveEnd(r *request, from, to int, c int) int {
	_, last := p.ix.refEvidence(c, tokensIn(r.toks, from, to))
	return last
}

func cjkBefore(text string, i, lo, n int) int {
	for ; n > 0 && i > lo; n-- {
		r, size := utf8.DecodeLastRuneInString(text[lo:i])
		if !isCJK(r) {
			break
		}
		i -= size
	}
	return i
}

func cjkAfter(text string, i, hi, n int) int {
	for ; n > 0 && i < hi; n-- {
		r, size := utf8.DecodeRuneInString(text[i:hi])
		if !isCJK(r) {
			break
		}
		i += size
	}
	return i
}
