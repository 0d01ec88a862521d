package localmodel

import (
	"cmp"
	"math"
	"slices"
	"unicode"
)

// A langGuess is an identified language with the identifier's confidence.
type langGuess struct {
	Code       string  `json:"language"`
	Name       string  `json:"name"`
	Confidence float64 `json:"confidence"`
}

// undetermined is the guess for text without letters (ISO 639-2 "und").
var undetermined = langGuess{Code: "und", Name: "Undetermined"}

// scriptLanguages maps a script to the one language it identifies, or to ""
// when several languages share it and the profiles must decide.
var scriptLanguages = []struct {
	table      *unicode.RangeTable
	code, name string
}{
	{unicode.Latin, "", ""},
	{unicode.Cyrillic, "", ""},
	{unicode.Arabic, "", ""},
	{unicode.Han, "zh", "Chinese"},
	{unicode.Hiragana, "ja", "Japanese"},
	{unicode.Katakana, "ja", "Japanese"},
	{unicode.Hangul, "ko", "Korean"},
	{unicode.Greek, "el", "Greek"},
	{unicode.Hebrew, "he", "Hebrew"},
	{unicode.Thai, "th", "Thai"},
	{unicode.Devanagari, "hi", "Hindi"},
	{unicode.Bengali, "bn", "Bengali"},
	{unicode.Tamil, "ta", "Tamil"},
	{unicode.Georgian, "ka", "Georgian"},
	{unicode.Armenian, "hy", "Armenian"},
}

// maxScoredWords bounds the words the profiles score: identification is
// settled long before, and the bound keeps long inputs fast.
const maxScoredWords = 300

// detectLanguage identifies the language of text. The script decides when
// only one language of the set uses it; Han text with kana is Japanese.
// Latin, Cyrillic and Arabic text is scored against each profile of that
// script: a character trigram model plus credit for frequent words.
func detectLanguage(text string) []langGuess {
	counts := make([]int, len(scriptLanguages))
	total := 0
	for _, r := range text {
		if !unicode.IsLetter(r) {
			continue
		}
		for i, s := range scriptLanguages {
			if unicode.Is(s.table, r) {
				counts[i]++
				total++
				break
			}
		}
	}
	if total == 0 {
		return []langGuess{undetermined}
	}
	best := dominantScript(counts)
	share := float64(counts[best]) / float64(total)
	switch s := scriptLanguages[best]; {
	case s.code == "zh" || s.code == "ja":
		return []langGuess{hanLanguage(counts[3], counts[4]+counts[5])}
	case s.code != "":
		return []langGuess{{Code: s.code, Name: s.name, Confidence: round2(share)}}
	}
	return scoreProfiles(text, scriptLanguages[best].table, share)
}

// dominantScript returns the index of the script with the most letters,
// counting Han and kana together as Japanese-or-Chinese writing.
func dominantScript(counts []int) int {
	cjk := counts[3] + counts[4] + counts[5]
	best, bestN := 3, cjk
	for i, n := range counts {
		if i >= 3 && i <= 5 {
			continue
		}
		if n > bestN {
			best, bestN = i, n
		}
	}
	return best
}

// hanLanguage tells Japanese from Chinese: Japanese prose is rarely under a
// tenth kana, Chinese has none.
func hanLanguage(han, kana int) langGuess {
	if kana*10 >= han+kana && kana > 0 {
		return langGuess{Code: "ja", Name: "Japanese", Confidence: 0.99}
	}
	if kana > 0 {
		return langGuess{Code: "zh", Name: "Chinese", Confidence: 0.8}
	}
	return langGuess{Code: "zh", Name: "Chinese", Confidence: 0.99}
}

// scoreProfiles ranks the profiles of one script against text and turns the
// scores into probabilities, scaled by the share of letters in that script.
func scoreProfiles(text string, script *unicode.RangeTable, share float64) []langGuess {
	words := letterWords(text)
	if len(words) > maxScoredWords {
		words = words[:maxScoredWords]
	}
	// Prose repeats its words, so each distinct word is scored once.
	counts := map[string]int{}
	var distinct []string // in first-seen order, so sums are reproducible
	for _, w := range words {
		if counts[string(w)]++; counts[string(w)] == 1 {
			distinct = append(distinct, string(w))
		}
	}
	var cands []*langProfile
	var scores []float64
	for _, p := range langProfiles() {
		if p.script != script {
			continue
		}
		s := 0.0
		for _, w := range distinct {
			s += float64(counts[w]) * (p.lm.logProb([]rune(w)) + p.words[w])
		}
		cands, scores = append(cands, p), append(scores, s)
	}
	return rankGuesses(cands, scores, len(words), share)
}

// rankGuesses turns log scores into probabilities. Scores are divided by
// the square root of the word count, a temperature that keeps one odd word
// in a long text from making the answer look certain.
func rankGuesses(cands []*langProfile, scores []float64, words int, share float64) []langGuess {
	temp := math.Max(1, math.Sqrt(float64(words)))
	top := slices.Max(scores)
	sum := 0.0
	for _, s := range scores {
		sum += math.Exp((s - top) / temp)
	}
	order := make([]int, len(cands))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
	out := make([]langGuess, len(cands))
	for k, i := range order {
		conf := math.Exp((scores[i]-top)/temp) / sum * share
		out[k] = langGuess{Code: cands[i].code, Name: cands[i].name, Confidence: round2(conf)}
	}
	return out
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }
