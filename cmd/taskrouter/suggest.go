package main

import "strconv"

// nearest returns the candidate closest to word by edit distance, when it
// is close enough to be the likely intent: at most two thirds of word's
// length away (two for short words). It serves "did you mean" hints for
// config keys and capability names.
func nearest(word string, candidates []string) (string, bool) {
	best, bestDist := "", -1
	for _, c := range candidates {
		if d := editDistance(word, c); bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	limit := max(2, 2*len([]rune(word))/3)
	if bestDist < 0 || bestDist > limit || bestDist == len([]rune(word)) {
		return "", false
	}
	return best, true
}

// editDistance is the Levenshtein distance between a and b, in runes,
// with a swap of two neighbours counted as one edit (so "adrr" is one
// from "addr").
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// didYouMean ends a sentence about word: with a hint naming the nearest
// candidate ("; did you mean "chat"?"), or with a full stop.
func didYouMean(word string, candidates []string) string {
	if c, ok := nearest(word, candidates); ok {
		return "; did you mean " + strconv.Quote(c) + "?"
	}
	return "."
}
