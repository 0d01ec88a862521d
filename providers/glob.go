package providers

import "strings"

// Match reports whether a model id matches a glob pattern: '*' matches
// any run of characters, '/' included (Ollama ids such as
// hf.co/org/model-coder:Q4 hold slashes), '?' one character, and the rest
// itself, ignoring case. It never recurses and takes at most the product
// of the two lengths in steps, whatever the pattern.
func Match(pattern, id string) bool {
	p, s := []rune(strings.ToLower(pattern)), []rune(strings.ToLower(id))
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*': // before the literal case: an id may hold '*'
			star, mark = pi, si
			pi++
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case star >= 0:
			// Let the last star take one more character and retry.
			pi, mark = star+1, mark+1
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// matchAny reports whether id matches one of the patterns.
func matchAny(patterns []string, id string) bool {
	for _, p := range patterns {
		if Match(p, id) {
			return true
		}
	}
	return false
}
