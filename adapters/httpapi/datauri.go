package httpapi

import (
	"errors"
	"mime"
	"strings"
)

// parseDataURI reads a data: URI (RFC 2397) whose data is base64, as
// OpenAI's content parts carry images and files: it returns the media
// type (empty when the URI names none) and the base64 text, unchecked.
func parseDataURI(uri string) (mediaType, b64 string, err error) {
	rest, ok := cutPrefixFold(uri, "data:")
	if !ok {
		return "", "", errors.New("is not a data: URI")
	}
	head, data, ok := strings.Cut(rest, ",")
	if !ok {
		return "", "", errors.New("is a data: URI without a comma before its data")
	}
	params := strings.Split(head, ";")
	last := strings.TrimSpace(params[len(params)-1])
	if len(params) < 2 || !strings.EqualFold(last, "base64") {
		return "", "", errors.New("is a data: URI that is not base64; send data:<type>;base64,<data>")
	}
	if t := strings.TrimSpace(params[0]); t != "" {
		mt, _, err := mime.ParseMediaType(strings.Join(params[:len(params)-1], ";"))
		if err != nil {
			return "", "", errors.New("is a data: URI whose media type " + quote(t) + " cannot be read")
		}
		mediaType = mt
	}
	return mediaType, data, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}

// quote shows a short excerpt of a value in an error.
func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return `"` + s + `"`
}
