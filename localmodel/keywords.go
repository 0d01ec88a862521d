package localmodel

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/taskrouter/taskrouter/task"
)

// Keywords is local/keywords: keywords and key phrases by TextRank over a
// word co-occurrence graph (Mihalcea and Tarau, 2004).
//
// English words are split on spaces; Chinese is segmented by segmentHan
// over the shipped dictionary plus terms the document repeats (see
// discoverHanTerms), so names and jargon missing from the dictionary still
// come out whole. Stopwords of both languages are dropped. Key phrases are
// runs of two to four candidate words with no stopword or punctuation
// between them (as in RAKE); every two- or three-word part of such a run
// is a candidate phrase, scored by the sum of its words' ranks times its
// frequency.
//
// Args: "count", how many keywords and phrases to return (default 8).
type Keywords struct{}

var _ Model = Keywords{}

// Keyword extraction settings.
const (
	defaultKeywordCount = 8
	maxKeywordCount     = 100
	cooccurrenceWindow  = 3
	maxPhraseWords      = 3
)

// keywordsAnswer is the JSON answer of local/keywords.
type keywordsAnswer struct {
	Language string       `json:"language"`
	Keywords []scoredTerm `json:"keywords"`
	Phrases  []scoredTerm `json:"phrases"`
}

// scoredTerm is a keyword or phrase with its score relative to the best.
type scoredTerm struct {
	Text  string  `json:"text"`
	Score float64 `json:"score"`
}

// Generate extracts the keywords of w.Input.
func (Keywords) Generate(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
	input, err := prepare(ctx, w, "the text to extract keywords from", "extracting keywords")
	if err != nil {
		return task.Output{}, err
	}
	count, err := intArg(w.Args, "count", defaultKeywordCount, maxKeywordCount)
	if err != nil {
		return task.Output{}, err
	}
	ans, err := extractKeywords(ctx, input, count)
	if err != nil {
		return task.Output{}, err
	}
	return jsonOutput(input, ans)
}

// extractKeywords ranks the candidate words of text and collects phrases.
func extractKeywords(ctx context.Context, text string, count int) (keywordsAnswer, error) {
	runs := candidateRuns(tokenize(text, discoverHanTerms(text)))
	vocab := newVocabulary(runs)
	ranks, err := pageRank(ctx, cooccurrence(runs, vocab), nil)
	if err != nil {
		return keywordsAnswer{}, err
	}
	return keywordsAnswer{
		Language: detectLanguage(text)[0].Code,
		Keywords: topTerms(vocab.display(), ranks, count),
		Phrases:  keyPhrases(runs, vocab, ranks, count),
	}, nil
}

// cooccurrence links words that occur within cooccurrenceWindow candidate
// words of each other in one sentence; repeated pairs weigh more.
func cooccurrence(runs []candidateRun, vocab *vocabulary) graph {
	g := make(graph, len(vocab.terms))
	var ids []int
	for k, run := range runs {
		ids = append(ids, vocab.idsOf(run.words)...)
		if k+1 < len(runs) && runs[k+1].sentence == run.sentence {
			continue
		}
		for i := range ids {
			for j := i + 1; j < len(ids) && j < i+cooccurrenceWindow; j++ {
				if ids[i] != ids[j] {
					g.link(ids[i], ids[j], 1)
				}
			}
		}
		ids = ids[:0]
	}
	return g
}

// A candidate is one content word as it appears in the text.
type candidate struct {
	norm    string // the form words are grouped by
	text    string // the form shown
	han     bool
	initial bool // the first word of a sentence, capitalised by rule
}

// A candidateRun is a run of content words with no stopword or punctuation
// between them, in one sentence.
type candidateRun struct {
	sentence int
	words    []candidate
}

// candidateRuns splits the tokens into runs of content words: stopwords,
// punctuation and numbers end a run. A run of Chinese single characters
// the dictionary does not know is taken as one unknown word.
func candidateRuns(tokens []token) []candidateRun {
	var runs []candidateRun
	cur := candidateRun{}
	initial := true
	flush := func() {
		if len(cur.words) > 0 {
			runs = append(runs, cur)
		}
		cur = candidateRun{sentence: cur.sentence}
	}
	for i := 0; i < len(tokens); i++ {
		t := tokens[i]
		switch {
		case t.kind == tokHan && !isStopword(t.norm) && !isCommonVerb(t.norm):
			j := unknownHanEnd(tokens, i)
			if j == i && utf8.RuneCountInString(t.text) == 1 {
				flush() // a lone character is no keyword
				break
			}
			w := tokens[i].text
			for _, u := range tokens[i+1 : j+1] {
				w += u.text
			}
			cur.words = append(cur.words, candidate{norm: w, text: w, han: true})
			i = j
		case t.kind == tokWord && !isStopword(t.norm) && !isCommonVerb(t.norm) && utf8.RuneCountInString(t.norm) > 1:
			cur.words = append(cur.words, candidate{norm: stemEnglish(t.norm), text: t.text, initial: initial})
		case t.kind == tokPunct && isStop(firstRune(t.text)) || t.text == ".":
			flush()
			cur.sentence++
		default:
			flush()
		}
		initial = t.kind == tokPunct && (isStop(firstRune(t.text)) || t.text == ".")
	}
	flush()
	return runs
}

// unknownHanEnd returns the index of the last token of the run of adjacent
// single Chinese characters, none a stopword, that starts at i; or i.
func unknownHanEnd(tokens []token, i int) int {
	single := func(t token) bool {
		return t.kind == tokHan && utf8.RuneCountInString(t.text) == 1 && !isStopword(t.norm)
	}
	if !single(tokens[i]) {
		return i
	}
	j := i
	for j+1 < len(tokens) && single(tokens[j+1]) && tokens[j+1].start == tokens[j].start+len(tokens[j].text) {
		j++
	}
	return j
}

// A vocabulary numbers the distinct candidate words and remembers how each
// was written.
type vocabulary struct {
	ids   map[string]int
	terms []string
	forms []map[string]int
}

func newVocabulary(runs []candidateRun) *vocabulary {
	v := &vocabulary{ids: map[string]int{}}
	for _, run := range runs {
		for _, c := range run.words {
			id, ok := v.ids[c.norm]
			if !ok {
				id = len(v.terms)
				v.ids[c.norm] = id
				v.terms = append(v.terms, c.norm)
				v.forms = append(v.forms, map[string]int{})
			}
			v.forms[id][c.shown()]++
		}
	}
	return v
}

// shown is how a word is written, lower-cased when only the start of a
// sentence capitalised it.
func (c candidate) shown() string {
	if c.initial {
		return strings.ToLower(c.text)
	}
	return c.text
}

func (v *vocabulary) idsOf(words []candidate) []int {
	ids := make([]int, len(words))
	for i, c := range words {
		ids[i] = v.ids[c.norm]
	}
	return ids
}

// display returns each word as written: lower case unless every occurrence
// is capitalised (a name), and the commonest form otherwise.
func (v *vocabulary) display() []string {
	out := make([]string, len(v.terms))
	for id, forms := range v.forms {
		out[id] = commonForm(forms)
	}
	return out
}

// commonForm returns the commonest of the forms, lower-cased unless every
// form is capitalised.
func commonForm(forms map[string]int) string {
	best, bestN, allUpper := "", 0, true
	for f, n := range forms {
		if n > bestN || n == bestN && f < best {
			best, bestN = f, n
		}
		r, _ := utf8.DecodeRuneInString(f)
		allUpper = allUpper && unicode.IsUpper(r)
	}
	if !allUpper {
		best = strings.ToLower(best)
	}
	return best
}

// topTerms returns the count best-ranked terms, scores relative to the best.
// A term that contains, or is inside, a better one already taken is skipped.
func topTerms(texts []string, ranks []float64, count int) []scoredTerm {
	order := allIndexes(len(texts))
	slices.SortStableFunc(order, func(a, b int) int {
		if ranks[a] != ranks[b] {
			return cmpDesc(ranks[a], ranks[b])
		}
		return strings.Compare(texts[a], texts[b])
	})
	out := []scoredTerm{}
	for _, i := range order {
		if len(out) == count {
			break
		}
		if !slices.ContainsFunc(out, func(t scoredTerm) bool { return overlaps(t.Text, texts[i]) }) {
			out = append(out, scoredTerm{Text: texts[i], Score: round3(ranks[i] / ranks[order[0]])})
		}
	}
	return out
}

// keyPhrases scores every sequence of two or three adjacent words in a run
// by the sum of its words' ranks times how often it occurs, so a phrase
// the text repeats beats one that merely holds good words.
func keyPhrases(runs []candidateRun, v *vocabulary, ranks []float64, count int) []scoredTerm {
	type phrase struct {
		score float64
		forms map[string]int
	}
	phrases := map[string]*phrase{}
	var keys []string
	for _, run := range runs {
		ids := v.idsOf(run.words)
		for i := range ids {
			for l := 2; l <= maxPhraseWords && i+l <= len(ids); l++ {
				key := fmt.Sprint(ids[i : i+l])
				p := phrases[key]
				if p == nil {
					p = &phrase{forms: map[string]int{}}
					phrases[key] = p
					keys = append(keys, key)
					for _, id := range ids[i : i+l] {
						p.score += ranks[id]
					}
				}
				p.forms[phraseText(run.words[i:i+l])]++
			}
		}
	}
	texts, scores := make([]string, len(keys)), make([]float64, len(keys))
	for k, key := range keys {
		p := phrases[key]
		texts[k], scores[k] = commonForm(p.forms), p.score*float64(sumCounts(p.forms))
	}
	return topTerms(texts, scores, count)
}

// overlaps reports whether one term contains the other, on word boundaries
// for spaced text.
func overlaps(a, b string) bool {
	if len(a) < len(b) {
		a, b = b, a
	}
	if isHan(firstRune(a)) || isHan(lastRune(a)) {
		return strings.Contains(a, b)
	}
	return strings.Contains(" "+a+" ", " "+b+" ")
}

func sumCounts(m map[string]int) int {
	n := 0
	for _, c := range m {
		n += c
	}
	return n
}

// phraseText joins words as written, with spaces except between Chinese
// words.
func phraseText(words []candidate) string {
	var b strings.Builder
	for i, c := range words {
		if i > 0 && !(c.han && words[i-1].han) {
			b.WriteByte(' ')
		}
		b.WriteString(c.shown())
	}
	return b.String()
}

func cmpDesc(a, b float64) int {
	if a > b {
		return -1
	}
	if a < b {
		return 1
	}
	return 0
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
