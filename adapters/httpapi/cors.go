package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rs/cors"
)

// CORS lets pages on other origins, such as browser-based chat frontends,
// call the /v1 API. The webhooks stay out of it: they are called server to
// server, and a page could not sign them without holding the secret.
type CORS struct {
	// AllowedOrigins are the origins whose pages may call the API, each
	// scheme://host[:port] as browsers send it, or "*" for every origin. A
	// wildcard may stand for subdomains (https://*.example.com, which does
	// not cover https://example.com) or for a port (http://localhost:*).
	// Empty turns CORS off. CheckOrigin says what is accepted.
	AllowedOrigins []string
	// MaxAge is how long a browser may reuse a preflight's answer (10m);
	// browsers cap it, Chromium at 2h.
	MaxAge time.Duration
}

// corsExposed are the headers the API sets that a page may read besides
// the safelisted ones: Retry-After (rate limits, a full job queue, a
// model cooling down) lets clients back off, Location names a created
// job, X-Request-Id is what OpenAI's clients report as the request id,
// X-Taskrouter-Model names the model that answered, Mcp-Session-Id is
// the session a browser-based MCP client sends back on its next message.
var corsExposed = []string{"Retry-After", "Location", "X-Request-Id", HeaderModel, "Mcp-Session-Id"}

// withCORS puts CORS in front of h for the /v1 routes but the webhooks,
// and for /mcp, or returns h when no origin is allowed. A preflight is
// answered here, before the API key check and the rate limit: browsers
// send no Authorization on it, and it must not spend a caller's tokens.
//
// Any request header is allowed (the preflight's list is reflected):
// OpenAI's SDKs add x-stainless-* and openai-* headers that change between
// versions, and the API reads credentials only from Authorization, never
// from cookies, so credentials mode stays off and a header a page may send
// gives it nothing a script outside a browser could not send anyway.
func withCORS(c CORS, h http.Handler) (http.Handler, error) {
	if len(c.AllowedOrigins) == 0 {
		return h, nil
	}
	for i, o := range c.AllowedOrigins {
		if err := CheckOrigin(o); err != nil {
			return nil, fmt.Errorf("httpapi: CORS allowed origin %d: %w", i, err)
		}
	}
	api := cors.New(cors.Options{
		AllowedOrigins: c.AllowedOrigins,
		AllowedMethods: []string{http.MethodGet, http.MethodPost, http.MethodDelete, http.MethodOptions},
		AllowedHeaders: []string{"*"},
		ExposedHeaders: corsExposed,
		MaxAge:         int(c.MaxAge / time.Second),
	}).Handler(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The wrapper adds headers and hands on w itself, so flushes and
		// deadlines still reach the connection.
		if strings.HasPrefix(r.URL.Path, "/v1/") && !strings.HasPrefix(r.URL.Path, "/v1/webhooks/") || r.URL.Path == "/mcp" {
			api.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	}), nil
}

// CheckOrigin reports why origin cannot be one of CORS.AllowedOrigins. A
// browser sends an origin as scheme://host[:port], lower case, without the
// scheme's default port, a path or a trailing slash; an entry written
// otherwise would never match, so it is refused with what to write.
func CheckOrigin(origin string) error {
	if origin == "*" {
		return nil
	}
	if origin == "null" {
		return errors.New(`"null" is the origin of sandboxed and file:// pages, which any site can make; it cannot be allowed`)
	}
	probe, err := wildcardProbe(origin)
	if err != nil {
		return err
	}
	u, err := url.Parse(probe)
	if err != nil || u.Scheme == "" || u.Opaque != "" || u.Hostname() == "" {
		return notAnOrigin(origin)
	}
	base := u.Scheme + "://" + u.Host
	switch port := u.Port(); {
	case u.User != nil:
		return fmt.Errorf("%q holds user info, which browsers never send; write scheme://host[:port] only", origin)
	case u.Path == "/" && strings.EqualFold(base+"/", probe):
		return fmt.Errorf("%q ends with a slash, which browsers never send; write %q", origin, strings.TrimSuffix(origin, "/"))
	case u.Path != "":
		return fmt.Errorf("%q has a path; an origin is scheme://host[:port] only: write %q", origin, origin[:min(len(base), len(origin))])
	case !strings.EqualFold(base, probe):
		return notAnOrigin(origin)
	case port == "443" && u.Scheme == "https", port == "80" && u.Scheme == "http":
		return fmt.Errorf("%q names the default port, which browsers leave out; write %q", origin, strings.TrimSuffix(origin, ":"+port))
	case port != "":
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%q has port %s; a port is 1-65535", origin, port)
		}
	}
	return nil
}

// wildcardProbe returns origin with its wildcard, if any, replaced by one
// character, so that the result parses as a URL and is as long as origin
// (CheckOrigin cuts its hints from origin at the probe's offsets). rs/cors
// matches a wildcard against any text, so one is accepted only where any
// text still means a subdomain or a port: https://*.example.com must not
// admit https://evilexample.com.
func wildcardProbe(origin string) (string, error) {
	switch strings.Count(origin, "*") {
	case 0:
		return origin, nil
	case 1:
	default:
		return "", fmt.Errorf("%q has more than one wildcard; write one entry per pattern, each with one '*'", origin)
	}
	if rest, ok := strings.CutSuffix(origin, ":*"); ok {
		return rest + ":1", nil
	}
	if i := strings.Index(origin, "://*."); i > 0 {
		if rest := origin[i+len("://*."):]; rest != "" && rest[0] != '.' && rest[0] != ':' {
			return origin[:i] + "://x." + rest, nil
		}
	}
	return "", fmt.Errorf("%q: a wildcard may stand only for subdomains, as in https://*.example.com, or for a port, as in http://localhost:*", origin)
}

func notAnOrigin(origin string) error {
	return fmt.Errorf(`%q is not an origin; write scheme://host[:port] without a path, such as https://chat.example.com, or "*"`, origin)
}
