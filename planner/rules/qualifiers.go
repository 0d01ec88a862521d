package rules

import (
	"regexp"
	"strings"
)

// Qualifiers. Some clauses only say how a step is to be done, or set up
// the problem it solves, and are no step of their own: a tone asked of a
// summary ("in a cheerful tone", "用轻松的语气"), a quantity asked by a word
// problem ("how many apples"), a premise before its question ("If a car
// uses 6 liters per 100 km, how many liters ..."). Like target languages
// and counts, a qualifier's words are left out when a piece of a request
// is matched against the catalog, and a premise joins the clause after it.

// mannerNouns end a phrase that says in what manner to write.
var mannerNouns = setOf("tone", "tones", "manner", "register", "voice", "mood")

// cjkManner matches a manner phrase in Chinese.
var cjkManner = regexp.MustCompile(`用[^，。,；;！？!?]{0,8}?(?:语气|口吻|语调)`)

// premiseWords open a clause that sets up the question after it.
var premiseWords = setOf("if", "given", "suppose", "supposing", "assuming", "assume", "provided")

// cjkPremises open a Chinese clause that sets up the question after it.
var cjkPremises = []string{"如果", "假设", "假如", "已知"}

// qualifierSpans returns the spans of the manner phrases and of the
// quantity questions of text, in order.
func qualifierSpans(text string, words []word) [][2]int {
	var out [][2]int
	for i, w := range words {
		switch {
		case (w.text == "in" || w.text == "with") && i+1 < len(words):
			if end := mannerEnd(text, words[i+1:min(i+5, len(words))]); end > 0 {
				out = append(out, [2]int{w.start, end})
			}
		case w.text == "how" && i+2 < len(words) && (words[i+1].text == "many" || words[i+1].text == "much"):
			if _, unit := englishUnits[words[i+2].stem]; !unit && onlySpace(text[w.end:words[i+1].start]) {
				out = append(out, [2]int{w.start, words[i+1].end})
			}
		}
	}
	if strings.Contains(text, "用") {
		for _, loc := range cjkManner.FindAllStringIndex(text, -1) {
			out = append(out, [2]int{loc[0], loc[1]})
		}
	}
	return sortSpans(out)
}

// mannerEnd returns where a manner phrase among the words after "in" or
// "with" ends ("a cheerful tone", "a formal, friendly register"), or 0.
func mannerEnd(text string, words []word) int {
	for k, w := range words {
		if mannerNouns[w.text] {
			return w.end
		}
		if k > 0 && !onlySpace(strings.Trim(text[words[k-1].end:w.start], ",")) || npStoppers[w.text] && w.text != "and" {
			return 0
		}
	}
	return 0
}

// isPremise reports whether a fragment sets up the question after it.
func isPremise(text string, words []word) bool {
	if len(words) > 0 && premiseWords[words[0].text] && strings.TrimSpace(text[:words[0].start]) == "" {
		return true
	}
	t := strings.TrimLeft(text, " \t\r\n")
	for _, p := range cjkPremises {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}

// sortSpans sorts spans by start.
func sortSpans(spans [][2]int) [][2]int {
	for i := 1; i < len(spans); i++ {
		for j := i; j > 0 && spans[j][0] < spans[j-1][0]; j-- {
			spans[j], spans[j-1] = spans[j-1], spans[j]
		}
	}
	return spans
}

// weighQuantities gives a word problem its arithmetic: where a piece asks
// how many or how much, every number of the problem after the first (in
// the piece, or in the sentences before it that set it up) counts again,
// as scoring counts each distinct term once.
func (p *Planner) weighQuantities(scores []float32, r *request, span []token, qualifiers [][2]int) {
	asksQuantity := false
	for _, q := range qualifiers {
		asksQuantity = asksQuantity || strings.HasPrefix(strings.ToLower(r.masked[q[0]:q[1]]), "how")
	}
	if !asksQuantity {
		return
	}
	n := 0
	if len(span) == 0 {
		return
	}
	for _, t := range tokensIn(r.toks, 0, span[len(span)-1].end) {
		if t.kind == kindNumber {
			if n > 0 {
				p.ix.addTerm(scores, numberTerm, numberFactor)
			}
			n++
		}
	}
}
