package webhook

import (
	"encoding/base64"
	"strings"
)

// MaxSignatures bounds how many signatures of one header are checked, so a
// huge header cannot make verification expensive.
const MaxSignatures = 16

// Signature is one entry of a webhook-signature header.
type Signature struct {
	// Version is the scheme: "v1" is HMAC-SHA256, "v1a" ed25519.
	Version string
	Value   []byte
}

// ParseSignatures splits a webhook-signature header into its
// space-delimited "version,base64" entries. Malformed entries are skipped,
// as the spec lets a sender add schemes a receiver does not know; at most
// MaxSignatures entries are returned.
func ParseSignatures(header string) []Signature {
	var out []Signature
	for _, field := range strings.Fields(header) {
		if len(out) == MaxSignatures {
			break
		}
		version, value, ok := strings.Cut(field, ",")
		if !ok || version == "" || value == "" {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(value)
		if err != nil {
			continue
		}
		out = append(out, Signature{Version: version, Value: raw})
	}
	return out
}
