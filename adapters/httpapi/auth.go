package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// keyring holds the API keys as SHA-256 digests: comparing digests of equal
// length in constant time reveals neither a key's content nor its length.
// Each key has a name, for logs.
type keyring struct {
	digests [][sha256.Size]byte
	names   []string
}

// keyName is the form of a key's name in "name:key".
var keyName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// ParseAPIKey splits an API key as configured, "name:key" or a bare key,
// into its name and the key. A bare key is named after a short hash of it
// ("key-1a2b3c4d"), so that logs can tell keys apart without showing any.
func ParseAPIKey(s string) (name, key string) {
	s = strings.TrimSpace(s)
	if n, k, ok := strings.Cut(s, ":"); ok && keyName.MatchString(n) && strings.TrimSpace(k) != "" {
		return n, strings.TrimSpace(k)
	}
	d := sha256.Sum256([]byte(s))
	return "key-" + hex.EncodeToString(d[:4]), s
}

func newKeyring(keys []string) keyring {
	var k keyring
	for _, raw := range keys {
		if strings.TrimSpace(raw) == "" {
			continue
		}
		name, key := ParseAPIKey(raw)
		k.digests = append(k.digests, sha256.Sum256([]byte(key)))
		k.names = append(k.names, name)
	}
	return k
}

func (k keyring) enabled() bool { return len(k.digests) > 0 }

// match returns the name of the key, or false; it compares against every
// key whatever the outcome, so timing shows nothing.
func (k keyring) match(key string) (string, bool) {
	d := sha256.Sum256([]byte(key))
	found := -1
	for i := range k.digests {
		if subtle.ConstantTimeCompare(d[:], k.digests[i][:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return "", false
	}
	return k.names[found], true
}

// caller names who sent a request, for ownership and rate limits: a hash
// of the API key (never the key), or the client address without keys.
type caller struct {
	owner string // "" when there are no API keys
	limit string
	name  string // the key's name, for logs; "" when there are no API keys
}

// guard authenticates a /v1 request and takes a rate-limit token for its
// caller before handing it on.
func (s *Server) guard(h func(http.ResponseWriter, *http.Request, caller)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := s.identify(w, r)
		if !ok {
			return
		}
		if e := s.rateLimit(r, c); e != nil {
			if s.cfg.Metrics != nil {
				s.cfg.Metrics.RateLimited(r.Pattern)
			}
			writeError(w, e)
			return
		}
		h(w, r, c)
	})
}

// authOnly authenticates a request, as guard does, without the rate
// limit: for GET /metrics, which a scraper calls on its own schedule.
func (s *Server) authOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.identify(w, r); ok {
			h.ServeHTTP(w, r)
		}
	})
}

// identify authenticates a request and names its key in the access log;
// false when it answered the request with the error.
func (s *Server) identify(w http.ResponseWriter, r *http.Request) (caller, bool) {
	c, e := s.authenticate(r)
	if e != nil {
		writeError(w, e)
		return caller{}, false
	}
	if a := accessOf(r.Context()); a != nil {
		a.key = c.name
	}
	return c, true
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
	name, ok := s.keys.match(token)
	if !ok {
		// The key is never repeated back or logged.
		return caller{}, newError(http.StatusUnauthorized, typeAuthentication, "invalid_api_key",
			"Incorrect API key provided. Check the key, or ask the operator for one of TASKROUTER_API_KEYS.")
	}
	d := sha256.Sum256([]byte(token))
	id := hex.EncodeToString(d[:8])
	return caller{owner: id, limit: "key:" + id, name: name}, nil
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
