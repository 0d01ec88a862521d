package httpapi

import (
	"encoding/json"
	"strconv"
)

// appendString appends s as a JSON string, escaped as encoding/json does
// (including <, > and & for HTML safety, and invalid UTF-8 as U+FFFD).
func appendString(b []byte, s string) []byte {
	if isPlainASCII(s) {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	q, err := json.Marshal(s)
	if err != nil { // cannot happen for a string
		return append(b, `""`...)
	}
	return append(b, q...)
}

// isPlainASCII reports whether s needs no escaping at all.
func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

func appendInt(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) }
