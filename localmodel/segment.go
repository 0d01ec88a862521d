package localmodel

// segmentHan splits a run of Chinese characters into words by the
// fewest-words path through the lattice of dictionary words (the classic
// "shortest path" segmentation), breaking ties by fewer single characters.
// Words come from the shipped dictionary and from extra, which callers fill
// with terms found in the document itself; characters in no word stand
// alone.
func segmentHan(run string, extra map[string]int) []string {
	dict := zhDictionary()
	offs := runeOffsets(run)
	n := len(offs) - 1
	if n <= 1 {
		return []string{run}
	}
	maxLen := max(dict.maxRunes, maxExtraRunes)
	// cost[i] is the best (words, singles) from rune i to the end; next[i]
	// is the end of the first word on that path.
	words, singles, next := make([]int, n+1), make([]int, n+1), make([]int, n+1)
	for i := n - 1; i >= 0; i-- {
		words[i], singles[i], next[i] = words[i+1]+1, singles[i+1]+1, i+1
		for l := 2; l <= maxLen && i+l <= n; l++ {
			w := run[offs[i]:offs[i+l]]
			if _, ok := extra[w]; !ok && !dict.has(w) {
				continue
			}
			if wc, sc := words[i+l]+1, singles[i+l]; wc < words[i] || wc == words[i] && sc < singles[i] {
				words[i], singles[i], next[i] = wc, sc, i+l
			}
		}
	}
	out := make([]string, 0, words[0])
	for i := 0; i < n; i = next[i] {
		out = append(out, run[offs[i]:offs[next[i]]])
	}
	return out
}

// maxExtraRunes bounds the length of document-found words.
const maxExtraRunes = 6

// runeOffsets returns the byte offset of every rune in s, plus len(s).
func runeOffsets(s string) []int {
	offs := make([]int, 0, len(s)/3+1)
	for i := range s {
		offs = append(offs, i)
	}
	return append(offs, len(s))
}
