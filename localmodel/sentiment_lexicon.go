package localmodel

import (
	_ "embed"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

var (
	//go:embed sentiment_en.txt
	sentimentEnText string
	//go:embed sentiment_zh.txt
	sentimentZhText string
)

// valences maps a word or phrase to its valence, with the length of the
// longest entry: in words for English, in characters for Chinese.
type valences struct {
	terms   map[string]float64
	longest int
}

func parseValences(text string, length func(string) int) *valences {
	v := &valences{terms: map[string]float64{}}
	for line := range strings.Lines(text) {
		fields := strings.Fields(line)
		if len(fields) < 2 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		score, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			continue
		}
		term := strings.Join(fields[:len(fields)-1], " ")
		v.terms[term] = score
		v.longest = max(v.longest, length(term))
	}
	return v
}

var (
	enValences = sync.OnceValue(func() *valences {
		return parseValences(sentimentEnText, func(s string) int { return len(strings.Fields(s)) })
	})
	zhValences = sync.OnceValue(func() *valences { return parseValences(sentimentZhText, utf8.RuneCountInString) })
)

// Modifiers of sentiment. Negators flip a valence; intensifiers scale it;
// a contrast word ("but") moves the weight to the clause after it.
var (
	enNegators = newWordSet(`not no never none nobody nothing neither nor without hardly barely rarely
		cannot can't cant don't dont doesn't doesnt didn't didnt isn't isnt wasn't wasnt aren't arent
		weren't werent won't wont wouldn't wouldnt shouldn't shouldnt couldn't couldnt haven't havent
		hasn't hasnt hadn't hadnt ain't lack`)
	zhNegators = newWordSet(`不 没 没有 无 非 别 未 不是 并不 从不 毫不 绝不 从来不 从没 一点也不 根本不 根本没 并没有 不会`)
	enContrast = newWordSet(`but however yet though`)
	zhContrast = newWordSet(`但 但是 可是 不过 然而 只是 可`)
)

// intensifiers scale the valence of the word they precede.
var intensifiers = map[string]float64{
	"very": 1.5, "really": 1.5, "so": 1.4, "extremely": 1.8, "incredibly": 1.8, "absolutely": 1.8,
	"totally": 1.6, "completely": 1.6, "highly": 1.5, "truly": 1.5, "super": 1.5, "too": 1.3,
	"quite": 1.2, "pretty": 1.2, "fairly": 1.1, "most": 1.4, "definitely": 1.4,
	"slightly": 0.6, "somewhat": 0.7, "barely": 0.5, "kinda": 0.7, "little": 0.7, "bit": 0.7,
	"很": 1.4, "非常": 1.7, "特别": 1.6, "太": 1.6, "极": 1.8, "极其": 1.8, "十分": 1.6, "超": 1.6,
	"挺": 1.2, "真": 1.4, "真的": 1.4, "更": 1.3, "最": 1.7, "相当": 1.4, "比较": 1.1, "完全": 1.6,
	"有点": 0.7, "有些": 0.7, "稍微": 0.6, "略": 0.6, "实在": 1.5,
}

// enValence looks up an English word, folding adverbs onto adjectives:
// "smoothly" -> "smooth", "happily" -> "happy".
func enValence(w string) (float64, bool) {
	lex := enValences().terms
	if v, ok := lex[w]; ok {
		return v, true
	}
	if stem, ok := strings.CutSuffix(w, "ily"); ok {
		if v, ok := lex[stem+"y"]; ok {
			return v, true
		}
	}
	if stem, ok := strings.CutSuffix(w, "ly"); ok {
		for _, s := range []string{stem, stem + "le", stem + "e"} {
			if v, ok := lex[s]; ok {
				return v, true
			}
		}
	}
	return 0, false
}
