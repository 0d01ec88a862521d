package openaitest

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// apiError is an OpenAI error answer: a status and the error object.
type apiError struct {
	status     int
	message    string
	typ        string
	param      string // "" is sent as null
	code       string // "" is sent as null
	retryAfter time.Duration
}

// statusFailure returns the error answer of a failure that is an HTTP
// status; ok is false for failures that are not (reset, malformed, stall).
func statusFailure(f Failure, b Behaviour, r *http.Request) (apiError, bool) {
	switch f {
	case FailRateLimit:
		return apiError{status: http.StatusTooManyRequests, message: "Rate limit reached for requests. Please try again later.", typ: "requests", code: "rate_limit_exceeded", retryAfter: b.RetryAfter}, true
	case FailServerError:
		return apiError{status: http.StatusInternalServerError, message: "The server had an error while processing your request. Sorry about that!", typ: "server_error", retryAfter: b.RetryAfter}, true
	case FailContextLength:
		return apiError{status: http.StatusBadRequest, message: "This model's maximum context length is exceeded by your messages. Please reduce the length of the messages.", typ: "invalid_request_error", param: "messages", code: "context_length_exceeded"}, true
	case FailBadRequest:
		return apiError{status: http.StatusBadRequest, message: "Invalid value for 'messages'.", typ: "invalid_request_error", param: "messages"}, true
	case FailUnauthorized:
		return unauthorized(r), true
	case FailForbidden:
		return apiError{status: http.StatusForbidden, message: "You are not allowed to use this model.", typ: "invalid_request_error", code: "permission_denied"}, true
	}
	return apiError{}, false
}

// unauthorized echoes the presented key in full, unlike OpenAI, which masks
// it, so that tests catch a client that repeats upstream messages unredacted.
func unauthorized(r *http.Request) apiError {
	key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	return apiError{status: http.StatusUnauthorized, message: "Incorrect API key provided: " + key + ". You can find your API key in your account settings.", typ: "invalid_request_error", code: "invalid_api_key"}
}

// writeAPIError writes an error answer.
func writeAPIError(w http.ResponseWriter, e apiError) {
	if e.retryAfter > 0 {
		secs := (e.retryAfter + time.Second - 1) / time.Second
		w.Header().Set("Retry-After", strconv.FormatInt(int64(secs), 10))
	}
	buf := getBuf()
	defer putBuf(buf)
	b := append((*buf)[:0], `{"error":{"message":`...)
	b = appendString(b, e.message)
	b = append(b, `,"type":`...)
	b = appendString(b, e.typ)
	b = append(b, `,"param":`...)
	b = appendStringOrNull(b, e.param)
	b = append(b, `,"code":`...)
	b = appendStringOrNull(b, e.code)
	b = append(b, "}}\n"...)
	*buf = b
	writeJSON(w, e.status, b)
}

// writeMalformed answers 200 with JSON cut off in the middle.
func writeMalformed(w http.ResponseWriter, id string) {
	writeJSON(w, http.StatusOK, []byte(`{"id":"`+id+`","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"cut`))
}

// deepJSON is prefix, DeepJSONLevels of '[' and as many ']', then suffix.
func deepJSON(prefix, suffix string) []byte {
	b := make([]byte, 0, len(prefix)+2*DeepJSONLevels+len(suffix))
	b = append(b, prefix...)
	for range DeepJSONLevels {
		b = append(b, '[')
	}
	for range DeepJSONLevels {
		b = append(b, ']')
	}
	return append(b, suffix...)
}

// reset resets the connection: linger 0 makes the close send a TCP RST
// instead of a clean FIN. Callers flush what should reach the client first.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

// hang blocks until the client goes away or the server closes.
func (s *Server) hang(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-s.done:
	}
}
