// Package webhook signs and verifies Standard Webhooks
// (https://www.standardwebhooks.com): HMAC-SHA256 over "id.timestamp.body",
// sent as "v1,<base64>" in the webhook-signature header next to webhook-id
// and webhook-timestamp. Secrets are serialised as "whsec_<base64>".
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix marks a serialised symmetric secret.
const SecretPrefix = "whsec_"

// Secret sizes the spec allows: 24 to 64 random bytes.
const (
	MinSecretBytes = 24
	MaxSecretBytes = 64
)

// ErrBadSecret is returned, wrapped, by ParseSecret for a secret that is
// not base64 or has the wrong size.
var ErrBadSecret = errors.New("webhook: bad secret")

// Secret is a symmetric signing key. Its String never shows the key.
type Secret struct {
	key []byte
}

// ParseSecret decodes a "whsec_<base64>" secret; the prefix may be left out.
func ParseSecret(s string) (Secret, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), SecretPrefix)
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return Secret{}, fmt.Errorf("%w: it is not base64 after %q; generate one with `openssl rand -base64 32`", ErrBadSecret, SecretPrefix)
	}
	if len(key) < MinSecretBytes || len(key) > MaxSecretBytes {
		return Secret{}, fmt.Errorf("%w: it holds %d bytes; use %d to %d random bytes", ErrBadSecret, len(key), MinSecretBytes, MaxSecretBytes)
	}
	return Secret{key: key}, nil
}

// IsZero reports whether the secret is unset.
func (s Secret) IsZero() bool { return len(s.key) == 0 }

// String hides the key.
func (s Secret) String() string { return "whsec_<redacted>" }

// GoString hides the key from %#v.
func (s Secret) GoString() string { return s.String() }

// Sign returns the "v1,<base64>" signature of a message.
func (s Secret) Sign(id string, ts time.Time, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(s.mac(id, ts.Unix(), body))
}

func (s Secret) mac(id string, unix int64, body []byte) []byte {
	h := hmac.New(sha256.New, s.key)
	var num [20]byte
	h.Write([]byte(id))
	h.Write([]byte{'.'})
	h.Write(strconv.AppendInt(num[:0], unix, 10))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}
