package rules

import "strings"

// A list of files or addresses is the object of one verb: "Join a.csv
// and b.csv", "Compare a.pdf, b.pdf and c.pdf" are one step that works on
// all of them, not a step per file. Quoted texts are not joined so: in
// "Translate 'A' into French and 'B' into German" each quote is a step of
// its own (see gapped).

// objectJoiners are what may stand between two files of one list.
var objectJoiners = setOf("and", ",", ", and", "&", "as well as")

// joinObjects returns the instructions to cut into fragments: masked,
// with the joiners between two adjacent file names or URLs blanked out,
// so that no boundary falls inside a list of them. Offsets agree with
// masked.
func (r *request) joinObjects(masked string) string {
	var b []byte
	for k := 1; k < len(r.payloads); k++ {
		a, c := r.payloads[k-1], r.payloads[k]
		if !isObject(a) || !isObject(c) || c.start > len(masked) {
			continue
		}
		between := strings.ToLower(strings.TrimSpace(r.text[a.end:c.start]))
		if !objectJoiners[between] {
			continue
		}
		if b == nil {
			b = []byte(masked)
		}
		for i := a.end; i < c.start; i++ {
			b[i] = ' '
		}
	}
	if b == nil {
		return masked
	}
	return string(b)
}

// isObject reports whether a payload is a file name or a URL the request
// names in its instructions, as opposed to a text it quotes or introduces.
func isObject(pl payload) bool {
	return !pl.shared && pl.typ != "text"
}
