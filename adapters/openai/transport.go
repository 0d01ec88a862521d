package openai

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/taskrouter/taskrouter/telemetry"
)

// maxRetryAfter caps what an upstream may ask us to wait.
const maxRetryAfter = 24 * time.Hour

// transport adds the configured headers to every request, bounds the
// nesting of JSON answers and, for failed calls, keeps the Retry-After the
// upstream sent, which go-openai's errors do not carry.
type transport struct {
	next    *http.Client
	headers http.Header
	// keyUnset, when true, refuses every call: the spec names a key
	// variable that was empty, and a call without the key would only be
	// refused upstream, or reach an upstream the operator meant to guard.
	keyUnset bool
}

// errKeyUnset is what a call returns when the spec's api_key_env was
// empty or unset.
var errKeyUnset = errors.New("the API key variable is empty or unset")

// callKey marks the context value that holds a call's *callState.
type callKey struct{}

// callState is what transport learns about one Generate call.
type callState struct {
	retryAfter time.Duration
}

func withCallState(ctx context.Context) (context.Context, *callState) {
	c := &callState{}
	return context.WithValue(ctx, callKey{}, c), c
}

// Do implements go-openai's HTTPDoer.
func (t *transport) Do(req *http.Request) (*http.Response, error) {
	if t.keyUnset {
		return nil, errKeyUnset
	}
	for k, v := range t.headers {
		req.Header[k] = v
	}
	if tp := telemetry.Traceparent(req.Context()); tp != "" {
		req.Header.Set(telemetry.HeaderTraceparent, tp)
	}
	resp, err := t.next.Do(req)
	if err != nil {
		return resp, err
	}
	checkedBody(resp)
	if resp.StatusCode >= 400 {
		if c, ok := req.Context().Value(callKey{}).(*callState); ok {
			c.retryAfter, _ = ParseRetryAfter(resp.Header, time.Now())
		}
	}
	return resp, err
}

// ParseRetryAfter reads how long an upstream asks the client to wait:
// retry-after-ms (milliseconds, as OpenAI sends), else Retry-After in
// seconds or as an HTTP date. The result lies in [0, 24h]; ok is false when
// neither header holds a usable value.
func ParseRetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if ms, ok := parseNonNegative(h.Get("Retry-After-Ms")); ok {
		return clampWait(ms * float64(time.Millisecond)), true
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, ok := parseNonNegative(v); ok {
		return clampWait(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return clampWait(float64(t.Sub(now))), true
	}
	return 0, false
}

func parseNonNegative(v string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return 0, false
	}
	return f, true
}

func clampWait(ns float64) time.Duration {
	switch {
	case ns <= 0:
		return 0
	case ns >= float64(maxRetryAfter):
		return maxRetryAfter
	}
	return time.Duration(ns)
}
