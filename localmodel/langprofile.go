package localmodel

import (
	_ "embed"
	"math"
	"strings"
	"sync"
	"unicode"
)

//go:embed langdata.txt
var langDataText string

// A langProfile is what the identifier knows of one language written in a
// script that several languages share: its frequent words and a character
// trigram model of its spelling.
type langProfile struct {
	code, name string
	script     *unicode.RangeTable
	words      map[string]float64 // frequent word -> log-odds bonus
	lm         charModel
}

// charModel is a character trigram model with interpolated (Jelinek-Mercer)
// smoothing down to bigrams, unigrams and a uniform floor.
type charModel struct {
	uni    map[rune]int
	uniN   int
	bi     map[uint64]int // keys from gram
	biCtx  map[rune]int
	tri    map[uint64]int
	triCtx map[uint64]int
}

// gram packs up to three runes (21 bits each) into one map key.
func gram(a, b, c rune) uint64 { return uint64(a)<<42 | uint64(b)<<21 | uint64(c) }

// Interpolation weights of the trigram, bigram, unigram and uniform terms,
// and the alphabet size behind the uniform floor.
const (
	lambda3, lambda2, lambda1, lambda0 = 0.55, 0.25, 0.15, 0.05
	alphabetSize                       = 64
)

func newCharModel() charModel {
	return charModel{uni: map[rune]int{}, bi: map[uint64]int{}, biCtx: map[rune]int{},
		tri: map[uint64]int{}, triCtx: map[uint64]int{}}
}

// train counts the n-grams of one word, padded with a space on each side.
func (m *charModel) train(word []rune) {
	a, b := ' ', ' '
	for _, c := range append(word, ' ') {
		m.uni[c]++
		m.uniN++
		m.bi[gram(0, b, c)]++
		m.biCtx[b]++
		m.tri[gram(a, b, c)]++
		m.triCtx[gram(0, a, b)]++
		a, b = b, c
	}
}

// logProb is the log-probability of a word under the model.
func (m *charModel) logProb(word []rune) float64 {
	sum := 0.0
	a, b := ' ', ' '
	for _, c := range append(word, ' ') {
		p := lambda0/alphabetSize + lambda1*float64(m.uni[c])/float64(m.uniN)
		if n := m.biCtx[b]; n > 0 {
			p += lambda2 * float64(m.bi[gram(0, b, c)]) / float64(n)
		}
		if n := m.triCtx[gram(0, a, b)]; n > 0 {
			p += lambda3 * float64(m.tri[gram(a, b, c)]) / float64(n)
		}
		sum += math.Log(p)
		a, b = b, c
	}
	return sum
}

// langProfiles parses langdata.txt on first use.
var langProfiles = sync.OnceValue(func() []*langProfile {
	var out []*langProfile
	var cur *langProfile
	for line := range strings.Lines(langDataText) {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "@"):
			code, name, _ := strings.Cut(line[1:], " ")
			cur = &langProfile{code: code, name: name, words: map[string]float64{}, lm: newCharModel()}
			out = append(out, cur)
		case strings.HasPrefix(line, "words:"):
			cur.addWords(strings.Fields(strings.TrimPrefix(line, "words:")))
		default:
			for _, w := range letterWords(line) {
				cur.lm.train(w)
			}
		}
	}
	for _, p := range out {
		p.script = scriptOf(p.lm.uni)
	}
	return out
})

// scriptOf returns the shared script most of a profile's letters are in.
func scriptOf(letters map[rune]int) *unicode.RangeTable {
	var best *unicode.RangeTable
	bestN := 0
	for _, t := range []*unicode.RangeTable{unicode.Latin, unicode.Cyrillic, unicode.Arabic} {
		n := 0
		for r, c := range letters {
			if unicode.Is(t, r) {
				n += c
			}
		}
		if n > bestN {
			best, bestN = t, n
		}
	}
	return best
}

// addWords records frequent words; each also trains the character model,
// so short texts made of common words score well.
func (p *langProfile) addWords(words []string) {
	for rank, w := range words {
		w = strings.ToLower(w)
		p.words[w] = wordBonus * (1 + 1/math.Sqrt(float64(rank+1)))
		p.lm.train([]rune(w))
	}
}

// wordBonus is the log-odds credit of a frequent word of the language.
const wordBonus = 2.0

// letterWords splits text into lower-case words of letters and marks, with
// inner apostrophes kept ("l'école" stays whole in the model's eyes as
// "l'école").
func letterWords(text string) [][]rune {
	var out [][]rune
	var cur []rune
	for _, r := range strings.ToLower(text) {
		switch {
		case unicode.IsLetter(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) || r == '\u200c':
			cur = append(cur, r)
		case (r == '\'' || r == '’') && len(cur) > 0:
			cur = append(cur, '\'')
		default:
			if len(cur) > 0 {
				out = append(out, []rune(strings.TrimRight(string(cur), "'")))
				cur = nil
			}
		}
	}
	if len(cur) > 0 {
		out = append(out, []rune(strings.TrimRight(string(cur), "'")))
	}
	return out
}
