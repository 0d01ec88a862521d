package task

import (
	"bytes"
	"encoding/binary"
)

// Nesting bounds of the JSON documents taskrouter reads. The parsers
// behind them (gjson's validator, encoding/json, the planners' readers)
// recurse once per level, so a few megabytes of "[" would otherwise cost
// a gigabyte of stack or kill the process; every decoder of outside input
// calls CheckJSONDepth first. They are constants, not settings: an
// executor on another machine must accept whatever a router accepted.
const (
	// MaxJSONDepth bounds what clients, upstreams and files send: HTTP
	// bodies, webhook payloads, requests on tr.v1.req, catalog files, plans
	// written by a model and upstream responses. Real documents nest a
	// dozen levels; JSON schemas in response_format or tools a few dozen.
	MaxJSONDepth = 128
	// MaxWireJSONDepth bounds what taskrouter's own processes exchange and
	// store around a client's document (work at executors, executor
	// replies, stored jobs), which carries that document a few levels
	// deeper than it arrived.
	MaxWireJSONDepth = MaxJSONDepth + 16
)

// CheckJSONDepth returns a *Error with CodeInvalidRequest when the JSON
// document in data nests arrays and objects more than max levels deep,
// naming the byte offset where the level past max opens. It takes time
// linear in len(data), without recursion or allocation, and does not
// validate: run it before a parser whose cost grows with nesting, which
// then rejects what is not JSON.
func CheckJSONDepth(data []byte, max int) error {
	// Every level opens with a '[' or '{', so a document that holds no
	// more of them than max, as real ones do, nests no deeper; counting
	// them is a vectorised pass, several times cheaper than following
	// strings.
	if len(data) <= max || bytes.Count(data, opening[:1])+bytes.Count(data, opening[1:]) <= max {
		return nil
	}
	d := JSONDepth{Max: max}
	if _, err := d.Write(data); err != nil {
		return err
	}
	return nil
}

var opening = []byte("[{")

// JSONDepth checks the nesting of one JSON document written to it in
// pieces, as CheckJSONDepth does for a whole one; it is an io.Writer, so
// that an io.TeeReader can check a body while a decoder reads it. The
// zero value with Max set is ready to use.
type JSONDepth struct {
	// Max is the deepest nesting allowed.
	Max int

	depth    int
	offset   int64 // bytes written before the current piece
	inString bool
	escaped  bool // the last piece ended inside a string on an odd run of '\'
}

// Write implements io.Writer: it returns len(p), or the offset in p of the
// bracket that opens one level too many and a *Error saying so. The state
// lives in locals while it runs, which the compiler keeps in registers.
func (d *JSONDepth) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	depth, i := d.depth, d.resume(p)
	for ; i < len(p); i++ {
		switch class[p[i]] {
		case quote:
			// Keys and short values end within a few plain bytes: look
			// for their end here, which saves calling stringEnd.
			j := i + 1
			for end := min(i+shortString, len(p)); j < end && p[j] != '"' && p[j] != '\\'; j++ {
			}
			if j < len(p) && p[j] == '"' {
				i = j
			} else if i, d.escaped = stringEnd(p, j); i == len(p) {
				d.inString = true
			}
		case opener:
			if depth++; depth > d.Max {
				d.depth = depth
				return i, d.tooDeep(d.offset + int64(i))
			}
		case closer:
			if depth > 0 {
				depth--
			}
		}
	}
	d.depth = depth
	d.offset += int64(len(p))
	return len(p), nil
}

// resume finishes the string the last piece ended in, if any, and
// returns the index in p after it, or len(p) when it goes on.
func (d *JSONDepth) resume(p []byte) int {
	if !d.inString {
		return 0
	}
	i := 0
	if d.escaped {
		i = 1 // p[0] is the character escaped at the end of the last piece
	}
	if i, d.escaped = stringEnd(p, i); i == len(p) {
		return i
	}
	d.inString = false
	return i + 1
}

// The classes of bytes outside strings.
const (
	other = iota
	quote
	opener
	closer
)

// shortString is how many bytes of a string Write reads itself before
// it calls stringEnd.
const shortString = 24

var class = [256]uint8{'"': quote, '[': opener, '{': opener, ']': closer, '}': closer}

// stringEnd returns the index in p of the quote that closes the string
// which p[i:] is inside, or len(p) when the string goes on past p, and
// then whether p ends on a backslash that escapes the next piece's first
// byte. It skips eight bytes at a time while they hold neither a quote
// nor a backslash, which is most of the text, and every byte is looked
// at O(1) times.
func stringEnd(p []byte, i int) (int, bool) {
	for i < len(p) {
		for i+8 <= len(p) && !quoteOrBackslash(binary.LittleEndian.Uint64(p[i:])) {
			i += 8
		}
		// A quote or backslash is within eight bytes, or p ends there.
		for ; i < len(p); i++ {
			if c := p[i]; c == '"' {
				return i, false
			} else if c == '\\' {
				if i+1 == len(p) {
					return len(p), true
				}
				i += 2
				break
			}
		}
	}
	return len(p), false
}

// quoteOrBackslash reports whether any byte of x is '"' or '\\', with the
// classic test for a zero byte: (v - 0x01...) &^ v & 0x80... is nonzero
// exactly when some byte of v is zero.
func quoteOrBackslash(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q, b := x^('"'*ones), x^('\\'*ones)
	return ((q-ones)&^q|(b-ones)&^b)&highs != 0
}

func (d *JSONDepth) tooDeep(offset int64) *Error {
	return Errorf(CodeInvalidRequest, "the JSON is nested more than %d levels deep (level %d opens at byte %d); "+
		"send at most %d levels of nested arrays and objects", d.Max, d.Max+1, offset, d.Max)
}
