package rules

import (
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// payload is a piece of the request that a step works on rather than an
// instruction: quoted text, a file name, a URL, the text after a colon or
// after "the following".
type payload struct {
	start, end int    // span in the request, delimiters included
	text       string // the content itself
	typ        string // text, image, audio, video, document or url
	// shared payloads are introduced for the whole request (by a colon or
	// "the following") and go to every step that has none of its own.
	shared bool
}

// request is a request split into instructions and payloads. masked is the
// text with every payload blanked out, byte for byte, so offsets agree.
type request struct {
	text     string
	masked   string
	payloads []payload // ordered by start
	end      int       // the instructions end here
	// resumes are where instructions go on after a colon's payload that
	// they cut short, in order.
	resumes []int
	// toks are the tokens of the instructions; langs and counts the spans
	// of their language names and counts, which say how, not what.
	toks          []token
	words         []word       // the Latin words of the instructions
	langs, counts [][2]int     // spans of language names and of counts
	directional   [][2]int     // the language names that say which language to produce or read
	qualifiers    [][2]int     // manner phrases and quantity questions (qualifiers.go)
	ids           [][2]int     // identifiers named after their kind, "3003" of "ticket 3003" (lookup.go)
	readable      []string     // the kinds of binary data the request has (types.go)
	countMatches  []countMatch // the counts themselves
	scratch       scratch
}

// parseRequest finds the payloads of a request: URLs first (they hold
// colons and dots), then quotes, file names, and the text after a colon
// or a "following" cue.
func (p *Planner) parseRequest(text string) *request {
	r := &request{text: text, end: len(text)}
	m := []byte(text)
	for _, loc := range findURLs(text) {
		r.add(m, payload{start: loc[0], end: loc[1], text: text[loc[0]:loc[1]], typ: "url"})
	}
	findQuotes(r, m)
	spans, exts := findFiles(string(m))
	for k, loc := range spans {
		r.add(m, payload{start: loc[0], end: loc[1], text: text[loc[0]:loc[1]], typ: fileTypes[exts[k]]})
	}
	p.findColons(r, m)
	if r.end == len(text) && !r.hasShared() {
		p.findFollowing(r, m)
	}
	r.masked = string(m)
	instr := r.masked[:r.end]
	r.toks = tokenize(instr, make([]token, 0, len(instr)/4))
	r.words = latinWords(instr, 0, len(instr))
	r.langs = languageSpans(instr, 0, len(instr))
	r.directional = directional(instr, r.langs)
	r.markSpoken()
	r.countMatches = counts(instr, r.words)
	r.qualifiers = qualifierSpans(instr, r.words)
	r.ids = p.lookups.idSpans(r)
	r.readable = readableKinds(r)
	for _, m := range r.countMatches {
		if m.unit != "" || m.top {
			r.counts = append(r.counts, [2]int{m.start, m.end})
		}
	}
	return r
}

// add records a payload and blanks it out of the masked text.
func (r *request) add(m []byte, pl payload) {
	for i := pl.start; i < pl.end; i++ {
		m[i] = ' '
	}
	r.insert(pl)
}

// insert puts a payload in order and drops the ones it contains. Payloads
// mostly come in order, so the common case is an append.
func (r *request) insert(pl payload) {
	if n := len(r.payloads); n == 0 || r.payloads[n-1].end <= pl.start {
		r.payloads = append(r.payloads, pl)
		return
	}
	r.payloads = slices.DeleteFunc(r.payloads, func(o payload) bool { return o.start >= pl.start && o.end <= pl.end })
	i := sort.Search(len(r.payloads), func(i int) bool { return r.payloads[i].start > pl.start })
	r.payloads = slices.Insert(r.payloads, i, pl)
}

func (r *request) hasShared() bool {
	for _, pl := range r.payloads {
		if pl.shared {
			return true
		}
	}
	return false
}

// quotePairs are the quotation marks that delimit a payload.
var quotePairs = map[rune]rune{'"': '"', '“': '”', '‘': '’', '「': '」', '『': '』', '«': '»', '\'': '\'', '`': '`'}

// findQuotes marks quoted spans. A straight single quote opens only after a
// space, punctuation or CJK text and closes only before one, so apostrophes
// in "John's" are not quotes.
func findQuotes(r *request, m []byte) {
	text := r.text
	for i := 0; i < len(text); {
		c, size := utf8.DecodeRuneInString(text[i:])
		closer, ok := quotePairs[c]
		if !ok || m[i] == ' ' && text[i] != ' ' || !opensQuote(text, i, c) {
			i += size
			continue
		}
		fence := strings.HasPrefix(text[i:], "```")
		if fence {
			size = 3
		}
		end := closingQuote(text, m, i+size, closer, fence)
		if end < 0 {
			i += size
			continue
		}
		inner := strings.TrimSpace(text[i+size : end])
		if inner != "" {
			r.add(m, payload{start: i, end: end + size, text: inner, typ: quotedType(inner)})
		}
		i = end + size
	}
}

func opensQuote(text string, i int, c rune) bool {
	if c != '\'' && c != '"' {
		return true
	}
	prev, _ := utf8.DecodeLastRuneInString(text[:i])
	return i == 0 || !(unicode.IsLetter(prev) || unicode.IsDigit(prev)) || isCJK(prev)
}

// closingQuote returns the offset of the quote that closes one opened
// before from, or -1; a code fence closes at the next fence.
func closingQuote(text string, m []byte, from int, closer rune, fence bool) int {
	for j := from; j < len(text); {
		c, size := utf8.DecodeRuneInString(text[j:])
		if m[j] == ' ' && text[j] != ' ' { // inside a URL
			j += size
			continue
		}
		if fence {
			if strings.HasPrefix(text[j:], "```") {
				return j
			}
		} else if c == closer && closesQuote(text, j, size, c) {
			return j
		}
		j += size
	}
	return -1
}

func closesQuote(text string, j, size int, c rune) bool {
	if c != '\'' && c != '’' {
		return true
	}
	next, _ := utf8.DecodeRuneInString(text[j+size:])
	return j+size == len(text) || !unicode.IsLetter(next) || isCJK(next)
}

// quotedType is the type of quoted content: a lone file name or URL keeps
// its type, anything else is text.
func quotedType(inner string) string {
	if strings.ContainsAny(inner, " \t\n") {
		return "text"
	}
	if isWholeURL(inner) {
		return "url"
	}
	if ext, ok := wholeFile(inner); ok {
		return fileTypes[ext]
	}
	return "text"
}
