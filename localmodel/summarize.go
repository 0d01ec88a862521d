package localmodel

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/taskrouter/taskrouter/task"
)

// Summarize is local/summarize: an extractive summary by TextRank (Mihalcea
// and Tarau, 2004). Sentences are vertices, TF-IDF cosine similarity weighs
// the edges, and weighted PageRank ranks them; the best sentences are kept
// in their original order, skipping any that repeats one already kept.
//
// Args: "sentences" (how many to keep) or "ratio" (the fraction to keep,
// such as 0.3). By default a quarter of the sentences are kept, from one to
// five.
type Summarize struct{}

var _ Model = Summarize{}

// Summary length limits.
const (
	maxSummarySentences = 200
	defaultSummaryCap   = 5
	// redundancy is the cosine similarity above which a sentence repeats
	// one already in the summary.
	redundancy = 0.65
	// maxRankedSentences bounds the TextRank graph, which compares every
	// pair of sentences: past it, only the sentences closest to the whole
	// text are ranked (see shortlist), so a long input of short sentences
	// costs linear time and memory, not quadratic (256 KB of short
	// Chinese sentences took seconds and gigabytes).
	maxRankedSentences = 300
)

// Generate summarizes w.Input, streaming each kept sentence to progress.
func (Summarize) Generate(ctx context.Context, w task.Work, progress func(string)) (task.Output, error) {
	input, err := prepare(ctx, w, "the text to summarize", "summarizing")
	if err != nil {
		return task.Output{}, err
	}
	sents := splitSentences(input)
	want, err := summaryLength(w.Args, len(sents))
	if err != nil {
		return task.Output{}, err
	}
	keep, err := rankSentences(ctx, sents, want)
	if err != nil {
		return task.Output{}, err
	}
	var b strings.Builder
	for _, i := range keep {
		delta := sents[i].text
		if b.Len() > 0 && needsSpace(b.String(), delta) {
			delta = " " + delta
		}
		b.WriteString(delta)
		if progress != nil {
			progress(delta)
		}
	}
	return textOutput(input, b.String()), nil
}

// summaryLength reads the "sentences" or "ratio" argument.
func summaryLength(args map[string]string, n int) (int, error) {
	count, err := intArg(args, "sentences", 0, maxSummarySentences)
	if err != nil || count > 0 {
		return min(count, n), err
	}
	ratio, err := ratioArg(args, "ratio")
	if err != nil {
		return 0, err
	}
	if ratio > 0 {
		return min(maxSummarySentences, max(1, int(math.Round(ratio*float64(n))))), nil
	}
	return min(n, max(1, min(defaultSummaryCap, (n+3)/4))), nil
}

// rankSentences returns the indexes of the want best sentences, in order.
func rankSentences(ctx context.Context, sents []sentence, want int) ([]int, error) {
	if want >= len(sents) {
		return allIndexes(len(sents)), nil
	}
	terms := make([][]string, len(sents))
	for i, s := range sents {
		terms[i] = contentTerms(s.text)
	}
	vecs := tfidfVectors(terms)
	idx := allIndexes(len(sents))
	if len(vecs) > maxRankedSentences {
		idx = shortlist(vecs, maxRankedSentences)
		vecs = pickVectors(vecs, idx)
	}
	g := make(graph, len(vecs))
	for i := range vecs {
		if err := stopped(ctx, "summarizing"); err != nil {
			return nil, err
		}
		for j := i + 1; j < len(vecs); j++ {
			if sim := cosine(vecs[i], vecs[j]); sim > 0 {
				g[i] = append(g[i], edge{j, sim})
				g[j] = append(g[j], edge{i, sim})
			}
		}
	}
	scores, err := pageRank(ctx, g, positionPrior(len(vecs)))
	if err != nil {
		return nil, err
	}
	keep := pickSentences(scores, vecs, want)
	for k, i := range keep {
		keep[k] = idx[i] // idx is in text order, so keep stays so
	}
	return keep, nil
}

// shortlist returns, in text order, the indexes of the n sentences most
// similar to the centroid of all of them (weighed by the lead bias of
// positionPrior): the ones a ranking of the whole text would favour, found
// in one pass instead of comparing every pair.
func shortlist(vecs []termVector, n int) []int {
	centroid := map[int]float64{}
	for _, v := range vecs {
		if norm := v.norm(); norm > 0 {
			for _, t := range v {
				centroid[t.id] += t.weight / norm
			}
		}
	}
	prior := positionPrior(len(vecs))
	score := make([]float64, len(vecs))
	for i, v := range vecs {
		if norm := v.norm(); norm > 0 {
			for _, t := range v {
				score[i] += t.weight / norm * centroid[t.id]
			}
		}
		score[i] *= math.Sqrt(prior[i])
	}
	order := allIndexes(len(vecs))
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(score[b], score[a]) })
	order = order[:n]
	slices.Sort(order)
	return order
}

func pickVectors(vecs []termVector, idx []int) []termVector {
	out := make([]termVector, len(idx))
	for k, i := range idx {
		out[k] = vecs[i]
	}
	return out
}

// positionPrior biases the random jump of PageRank towards early
// sentences, in proportion to 1/sqrt(position): writers tend to state the
// point first (the lead bias of news, used by PositionRank).
func positionPrior(n int) []float64 {
	prior := make([]float64, n)
	sum := 0.0
	for i := range prior {
		prior[i] = 1 / math.Sqrt(float64(i+1))
		sum += prior[i]
	}
	for i := range prior {
		prior[i] /= sum
	}
	return prior
}

// pickSentences takes sentences by falling score, skipping near-repeats,
// and returns them in text order. Ties go to the earlier sentence.
func pickSentences(scores []float64, vecs []termVector, want int) []int {
	order := allIndexes(len(scores))
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case scores[a] > scores[b]:
			return -1
		case scores[a] < scores[b]:
			return 1
		}
		return 0
	})
	var keep []int
	for _, i := range order {
		if len(keep) == want {
			break
		}
		if !slices.ContainsFunc(keep, func(k int) bool { return cosine(vecs[i], vecs[k]) > redundancy }) {
			keep = append(keep, i)
		}
	}
	slices.Sort(keep)
	return keep
}

func allIndexes(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// needsSpace reports whether two joined sentences need a space between
// them: not when either side is Chinese or Japanese.
func needsSpace(before, after string) bool {
	last, _ := utf8.DecodeLastRuneInString(before)
	first, _ := utf8.DecodeRuneInString(after)
	cjk := func(r rune) bool {
		return isHan(r) || isKana(r) || r >= 0x3000 && r <= 0x303F || r >= 0xFF00 && r <= 0xFFEF
	}
	return !cjk(last) && !cjk(first)
}
