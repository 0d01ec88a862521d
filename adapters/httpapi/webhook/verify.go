package webhook

import (
	"crypto/hmac"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The headers of a Standard Webhook.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// DefaultTolerance is how far a message's timestamp may be from now.
const DefaultTolerance = 5 * time.Minute

// MaxIDLength bounds a webhook-id; it is used as a deduplication key.
const MaxIDLength = 256

// Verification failures. Every error Verify returns wraps one of them.
var (
	ErrMissingHeaders = errors.New("webhook: webhook-id, webhook-timestamp and webhook-signature are all required")
	ErrBadID          = errors.New("webhook: webhook-id must be 1-256 characters without '.'")
	ErrBadTimestamp   = errors.New("webhook: webhook-timestamp must be whole seconds since 1970")
	ErrTooOld         = errors.New("webhook: the timestamp is too old")
	ErrTooNew         = errors.New("webhook: the timestamp is too far in the future")
	ErrNoMatch        = errors.New("webhook: no signature matches")
)

// Message is what a verified webhook's headers say.
type Message struct {
	ID        string
	Timestamp time.Time
}

// Verifier checks signatures against one or more secrets (several while a
// secret is being rotated).
type Verifier struct {
	Secrets []Secret
	// Tolerance is how far the timestamp may be from now; zero means
	// DefaultTolerance.
	Tolerance time.Duration
}

// Verify checks the webhook headers of a request against its body, at time
// now. The comparison is constant-time per signature.
func (v Verifier) Verify(h http.Header, body []byte, now time.Time) (Message, error) {
	id, ts, sig := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || ts == "" || sig == "" {
		return Message{}, ErrMissingHeaders
	}
	if len(id) > MaxIDLength || strings.Contains(id, ".") {
		return Message{}, ErrBadID
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || unix < 0 || ts[0] == '+' {
		return Message{}, ErrBadTimestamp
	}
	tol := v.Tolerance
	if tol <= 0 {
		tol = DefaultTolerance
	}
	switch at := time.Unix(unix, 0); {
	case now.Sub(at) > tol:
		return Message{}, ErrTooOld
	case at.Sub(now) > tol:
		return Message{}, ErrTooNew
	}
	for _, s := range ParseSignatures(sig) {
		if s.Version != "v1" {
			continue
		}
		for _, secret := range v.Secrets {
			if hmac.Equal(s.Value, secret.mac(id, unix, body)) {
				return Message{ID: id, Timestamp: time.Unix(unix, 0)}, nil
			}
		}
	}
	return Message{}, ErrNoMatch
}

// SetHeaders signs body and sets the three webhook headers on h.
func (s Secret) SetHeaders(h http.Header, id string, ts time.Time, body []byte) {
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, s.Sign(id, ts, body))
}
