package rules

import "strings"

// Saying a result in a language is speaking it: "say it in French",
// "speak the summary", "pronounce this in Japanese" ask for speech, as
// "read it aloud" does, and for the language as well (translatefirst.go
// puts the translation first). "How do you say this in Spanish?" asks for
// a translation, and "Say hello" or "what does it say?" for neither: the
// verb speaks only with an object that names a text, and "say" only with
// a language to say it in.

// spokenVerbs are the verbs that ask for speech with an object; say
// needs a language besides.
var spokenVerbs = map[string]bool{"say": true, "speak": false, "pronounce": false}

// spokenObjects open the object of a spoken verb that names a text.
var spokenObjects = setOf("it", "this", "that", "them", "these", "those", "the", "its", "their", "my", "your", "our", "his", "her")

// aloudTerm is what a spoken verb reads as.
var aloudTerm = stem("aloud")

// markSpoken makes the token of each spoken verb that asks for speech read
// as "aloud", so that speech matches it.
func (r *request) markSpoken() {
	for i, w := range r.words {
		needsLanguage, ok := spokenVerbs[w.text]
		if !ok || i+1 >= len(r.words) || !spokenObjects[r.words[i+1].text] || asksHow(r.words, i) {
			continue
		}
		if needsLanguage && !r.languageInClause(w.end) {
			continue
		}
		for k := range r.toks {
			if r.toks[k].start == w.start && r.toks[k].kind == kindWord {
				r.toks[k].term = aloudTerm
				break
			}
		}
	}
}

// asksHow reports whether the verb at i follows "how do you", "how to",
// "how would I": a question about a translation.
func asksHow(words []word, i int) bool {
	for j := i - 1; j >= 0 && j >= i-3; j-- {
		if words[j].text == "how" {
			return true
		}
	}
	return false
}

// languageInClause reports whether a language to produce is named after
// from, before the clause ends.
func (r *request) languageInClause(from int) bool {
	end := from
	for end < len(r.masked) && !strings.ContainsRune(".,;:!?\n", rune(r.masked[end])) {
		end++
	}
	for _, d := range r.directional {
		if d[0] >= from && d[1] <= end {
			return true
		}
	}
	return false
}
