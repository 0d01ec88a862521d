package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net"
	"net/http"
	"strings"
	"time"
)

// keyring holds the API keys as SHA-256 digests: comparing digests of equal
// length in constant time reveals neither a key's content nor its length.
type keyring struct {
	digests [][sha256.Size]byte
}

func newKeyring(keys []string) keyring {
	var k keyring
	for _, key := range keys {
		if key = strings.TrimSpace(key); key != "" {
			k.digests = append(k.digests, sha256.Sum256([]byte(key)))
		}
	}
	return k
}

func (k keyring) enabled() bool { return len(k.digests) > 0 }

// match reports whether key is one of the keys; it compares against every
// key whatever the outcome, so timing shows nothing.
func (k keyring) match(key string) bool {
	d := sha256.Sum256([]byte(key))
	found := 0
	for i := range k.digests {
		found |= subtle.ConstantTimeCompare(d[:], k.digests[i][:])
	}
	return found == 1
}

// caller names who sent a request, for ownership and rate limits: a hash
// of the API key (never the key), or the client address without keys.
type caller struct {
	owner string // "" when there are no API keys
	limit string
}

// guard authenticates a /v1 request and takes a rate-limit token for its
// caller before handing it on.
func (s *Server) guard(h func(http.ResponseWriter, *http.Request, caller)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, e := s.authenticate(r)
		if e != nil {
			writeError(w, e)
			return
		}
		if e := s.rateLimit(r, c); e != nil {
			writeError(w, e)
			return
		}
		h(w, r, c)
	})
}

func (s *Server) authenticate(r *http.Request) (caller, *apiError) {
	if !s.keys.enabled() {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		return caller{limit: "addr:" + host}, nil
	}
	token, ok := bearerToken(r.Header.Get("Authorization"))
	if !ok {
		return caller{}, newError(http.StatusUnauthorized, typeAuthentication, "missing_api_key",
			"You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY'.")
	}
	if !s.keys.match(token) {
		// The key is never repeated back or logged.
		return caller{}, newError(http.StatusUnauthorized, typeAuthentication, "invalid_api_key",
			"Incorrect API key provided. Check the key, or ask the operator for one of TASKROUTER_API_KEYS.")
	}
	d := sha256.Sum256([]byte(token))
	id := hex.EncodeToString(d[:8])
	return caller{owner: id, limit: "key:" + id}, nil
}

// bearerToken returns the token of an Authorization header in the Bearer
// scheme, whose name is case-insensitive (RFC 9110, section 11.1):
// "bearer KEY" is as good as "Bearer KEY".
func bearerToken(header string) (string, bool) {
	header = strings.TrimSpace(header)
	i := strings.IndexAny(header, " \t")
	if i < 0 || !strings.EqualFold(header[:i], "Bearer") {
		return "", false
	}
	token := strings.TrimSpace(header[i:])
	return token, token != ""
}

func (s *Server) rateLimit(r *http.Request, c caller) *apiError {
	if s.cfg.Limiter == nil {
		return nil
	}
	dec, err := s.cfg.Limiter.Take(r.Context(), c.limit)
	if err != nil {
		// A rate-limit store that is down must not take the API down too.
		s.cfg.Logger.Warn("rate limiter unavailable; letting the request through", "err", err)
		return nil
	}
	if dec.Allowed {
		return nil
	}
	e := newError(http.StatusTooManyRequests, typeRateLimit, "rate_limit_exceeded",
		"Rate limit reached for this API key. Retry after the time in the Retry-After header.")
	e.RetryAfter = max(dec.RetryAfter, time.Millisecond)
	return e
}
