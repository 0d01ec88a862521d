package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// apiError is an error answer in OpenAI's shape:
// {"error": {"message", "type", "param", "code"}}.
type apiError struct {
	Status     int           `json:"-"`
	Message    string        `json:"message"`
	Type       string        `json:"type"`
	Param      *string       `json:"param"`
	Code       *string       `json:"code"`
	RetryAfter time.Duration `json:"-"`
}

func (e *apiError) Error() string { return e.Message }

// OpenAI's error types.
const (
	typeInvalidRequest = "invalid_request_error"
	typeAuthentication = "authentication_error"
	typeNotFound       = "not_found_error"
	typeRateLimit      = "rate_limit_error"
	typeServer         = "server_error"
)

func newError(status int, typ, code, message string) *apiError {
	e := &apiError{Status: status, Type: typ, Message: message}
	if code != "" {
		e.Code = &code
	}
	return e
}

func (e *apiError) withParam(p string) *apiError { e.Param = &p; return e }

func badRequest(code, message string) *apiError {
	return newError(http.StatusBadRequest, typeInvalidRequest, code, message)
}

// statusOf maps taskrouter's error codes to HTTP statuses and OpenAI error
// types: the caller's mistakes are 4xx, what a retry may fix is 429, 502,
// 503 or 504, and bugs are 500.
var statusOf = map[task.Code]struct {
	status int
	typ    string
}{
	task.CodeInvalidRequest: {http.StatusBadRequest, typeInvalidRequest},
	task.CodeInvalidPlan:    {http.StatusBadRequest, typeInvalidRequest},
	task.CodeBadInput:       {http.StatusBadRequest, typeInvalidRequest},
	task.CodeContextLength:  {http.StatusBadRequest, typeInvalidRequest},
	task.CodeNotFound:       {http.StatusNotFound, typeNotFound},
	task.CodeRateLimited:    {http.StatusTooManyRequests, typeRateLimit},
	task.CodeNoModel:        {http.StatusServiceUnavailable, typeServer},
	task.CodeOverloaded:     {http.StatusServiceUnavailable, typeServer},
	task.CodeUnavailable:    {http.StatusServiceUnavailable, typeServer},
	task.CodeUpstream:       {http.StatusBadGateway, typeServer},
	task.CodeAuth:           {http.StatusBadGateway, typeServer},
	task.CodeLost:           {http.StatusBadGateway, typeServer},
	task.CodeTimeout:        {http.StatusGatewayTimeout, typeServer},
	task.CodeCancelled:      {499, typeInvalidRequest}, // the client went away
	task.CodeTooLarge:       {http.StatusRequestEntityTooLarge, typeInvalidRequest},
	task.CodeInternal:       {http.StatusInternalServerError, typeServer},
	task.CodeInvalidArgs:    {http.StatusBadRequest, typeInvalidRequest},
	task.CodeToolError:      {http.StatusBadGateway, typeServer},
	task.CodeToolFailed:     {http.StatusBadGateway, typeServer},
	task.CodeToolTimeout:    {http.StatusGatewayTimeout, typeServer},

	// A named model: unknown is OpenAI's 404 model_not_found; one that
	// cannot do the work is the caller's to fix; one cooling down or
	// without a live replica is a 503 with Retry-After.
	task.CodeModelNotFound:        {http.StatusNotFound, typeInvalidRequest},
	task.CodeModelLacksCapability: {http.StatusBadRequest, typeInvalidRequest},
	task.CodeModelUnavailable:     {http.StatusServiceUnavailable, typeServer},
}

// fromTaskError turns a request's error into an answer. Upstream
// credential failures are the operator's problem, so they are 502, not
// the caller's 401.
func fromTaskError(e *task.Error) *apiError {
	s, ok := statusOf[e.Code]
	if !ok {
		s = statusOf[task.CodeInternal]
	}
	code := string(e.Code)
	if e.Code == task.CodeContextLength {
		code = "context_length_exceeded"
	}
	out := newError(s.status, s.typ, code, e.Message)
	out.RetryAfter = e.RetryAfter()
	if e.Code == task.CodeModelNotFound || e.Code == task.CodeModelLacksCapability {
		out = out.withParam("model")
	}
	if out.RetryAfter <= 0 && e.Code == task.CodeOverloaded {
		// Executors say when to retry; one that did not (an older
		// version) still gets the client to back off rather than hammer.
		out.RetryAfter = time.Second
	}
	return out
}

// asAPIError finds an *apiError in err's chain, or else treats err as a
// task error.
func asAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	return fromTaskError(task.AsError(err))
}

// writeError writes an error answer.
func writeError(w http.ResponseWriter, e *apiError) {
	if e.RetryAfter > 0 {
		secs := (e.RetryAfter + time.Second - 1) / time.Second
		w.Header().Set("Retry-After", strconv.FormatInt(int64(secs), 10))
	}
	writeJSON(w, e.Status, struct {
		Error *apiError `json:"error"`
	}{e})
}
