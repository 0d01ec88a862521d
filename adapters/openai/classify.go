package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/taskrouter/taskrouter/task"
)

// failure is what is known about a failed call before it gets a code.
type failure struct {
	status   int    // HTTP status; 0 for an error sent inside a stream
	code     string // the error object's code, such as context_length_exceeded
	typ      string // the error object's type, such as server_error
	upstream string // the upstream's message, not yet cleaned
}

// classify turns the error of a call into a *task.Error. ctx is the
// caller's context (deadline applied) and sctx the call's own, which the
// idle timer cancels. It looks at contexts, then at status codes and error
// types, never at message text:
//
//   - caller cancelled: CodeCancelled; deadline passed: CodeTimeout
//   - 429: CodeRateLimited with the upstream's Retry-After
//   - 408, 409, 5xx, stalls, resets, EOF mid-stream, malformed JSON,
//     JSON nested too deep, network errors: CodeUpstream (retryable)
//   - code context_length_exceeded, 413: CodeContextLength
//   - 401, 402, 403, insufficient_quota: CodeAuth; 404: CodeNotFound
//   - other 4xx: CodeBadInput
func (m *Model) classify(ctx, sctx context.Context, call *callState, err error) *task.Error {
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return task.Errorf(task.CodeCancelled, "model %q: the call was cancelled", m.spec.Name)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return task.Errorf(task.CodeTimeout, "model %q: no complete answer before the deadline; allow the subtask more time or choose a faster model", m.spec.Name)
	case errors.Is(context.Cause(sctx), errStalled):
		return task.Errorf(task.CodeUpstream, "model %q: the upstream sent nothing for %s; retry, or raise the idle timeout for slow models", m.spec.Name, m.idle)
	}
	var apiErr *goopenai.APIError
	if errors.As(err, &apiErr) {
		f := failure{status: apiErr.HTTPStatusCode, typ: apiErr.Type, upstream: apiErr.Message}
		f.code, _ = apiErr.Code.(string)
		return m.fromFailure(f, call.retryAfter)
	}
	var reqErr *goopenai.RequestError
	if errors.As(err, &reqErr) {
		e := m.fromFailure(failure{status: reqErr.HTTPStatusCode}, call.retryAfter)
		e.Message += " (the error body was not an OpenAI error object)"
		return e
	}
	return m.fromTransport(err)
}

// fromFailure classifies an error answer by status, code and type.
func (m *Model) fromFailure(f failure, retryAfter time.Duration) *task.Error {
	code, advice := m.codeFor(f)
	if code == task.CodeRateLimited && retryAfter > 0 {
		advice = fmt.Sprintf("retry in %s, or lower the model's concurrency", retryAfter)
	}
	what := fmt.Sprintf("HTTP %d", f.status)
	if f.status == 0 {
		what = "error inside the stream"
	}
	if f.code != "" {
		what += ", " + f.code
	} else if f.typ != "" {
		what += ", " + f.typ
	}
	msg := fmt.Sprintf("model %q: the upstream answered %s", m.spec.Name, what)
	if up := strings.TrimRight(m.secret.clean(f.upstream), ". "); up != "" {
		msg += ": " + up
	}
	e := task.Errorf(code, "%s; %s", msg, advice)
	if e.Retryable {
		e.RetryAfterMs = retryAfter.Milliseconds()
	}
	return e
}

// codeFor picks the code of an error answer and what to do about it.
func (m *Model) codeFor(f failure) (task.Code, string) {
	switch {
	case f.code == "context_length_exceeded" || f.status == http.StatusRequestEntityTooLarge:
		return task.CodeContextLength, "the input is too long for this model; use a model with a larger context window"
	case f.code == "insufficient_quota" || f.typ == "insufficient_quota" || f.status == http.StatusPaymentRequired:
		return task.CodeAuth, "the account has no quota left; check its plan and billing (" + m.secret.checkKey() + ")"
	case f.status == http.StatusTooManyRequests || f.code == "rate_limit_exceeded":
		return task.CodeRateLimited, "retry after a backoff, or lower the model's concurrency"
	case f.status == http.StatusUnauthorized || f.typ == "authentication_error":
		return task.CodeAuth, "the key was refused; " + m.secret.checkKey()
	case f.status == http.StatusForbidden || f.typ == "permission_error":
		return task.CodeAuth, "the key may not use model " + m.upstream + "; check its permissions (" + m.secret.checkKey() + ")"
	case f.status == http.StatusNotFound:
		return task.CodeNotFound, "check upstream_model (" + m.upstream + ") and base_url (" + m.spec.BaseURL + ")"
	case f.status == http.StatusRequestTimeout || f.status == http.StatusConflict || f.status >= 500:
		return task.CodeUpstream, "retry; the upstream failed on its side"
	case f.status >= 400:
		return task.CodeBadInput, "the upstream rejected the request; this input will fail again on this model"
	case f.typ == "invalid_request_error":
		return task.CodeBadInput, "the upstream rejected the request; this input will fail again on this model"
	}
	return task.CodeUpstream, "retry; the upstream failed on its side"
}

// fromTransport classifies an error that is not an error answer: the
// network, the stream's framing, or the JSON inside it.
func (m *Model) fromTransport(err error) *task.Error {
	var (
		syntax  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
		netErr  net.Error
		dnsErr  *net.DNSError
	)
	name := m.spec.Name
	switch {
	case errors.Is(err, errKeyUnset):
		return task.Errorf(task.CodeAuth, "model %q: no call was made: %s", name, m.secret.checkKey())
	case errors.Is(err, errTooLarge):
		return task.Errorf(task.CodeTooLarge, "model %q: %v", name, err)
	case errors.Is(err, errTruncated):
		return task.Errorf(task.CodeUpstream, "model %q: %v; retry", name, err)
	case errors.Is(err, errTooDeep):
		return task.Errorf(task.CodeUpstream, "model %q: %s; retry, and check that base_url points at an OpenAI-compatible API", name, m.secret.clean(err.Error()))
	case errors.Is(err, errMalformedChunk), errors.As(err, &syntax), errors.As(err, &typeErr):
		return task.Errorf(task.CodeUpstream, "model %q: the upstream sent malformed JSON (%s); retry, and check that base_url points at an OpenAI-compatible API", name, m.secret.clean(err.Error()))
	case errors.Is(err, goopenai.ErrTooManyEmptyStreamMessages):
		return task.Errorf(task.CodeUpstream, "model %q: the stream sent too many lines without data; retry, and check that base_url points at an OpenAI-compatible API", name)
	case errors.Is(err, syscall.ECONNREFUSED), errors.As(err, &dnsErr):
		return task.Errorf(task.CodeUpstream, "model %q: cannot reach %s (%s); check base_url and that the server is running", name, m.spec.BaseURL, m.secret.clean(err.Error()))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return task.Errorf(task.CodeUpstream, "model %q: the connection broke before the answer was complete; retry", name)
	case errors.As(err, &netErr):
		return task.Errorf(task.CodeUpstream, "model %q: network error talking to %s (%s); retry", name, m.spec.BaseURL, m.secret.clean(err.Error()))
	case errors.Is(err, goopenai.ErrChatCompletionInvalidModel), errors.Is(err, goopenai.ErrReasoningModelMaxTokensDeprecated):
		return task.Errorf(task.CodeBadInput, "model %q: go-openai refused to send the request (%v); check upstream_model", name, err)
	}
	return task.Errorf(task.CodeInternal, "model %q: unexpected failure calling the upstream: %s", name, m.secret.clean(err.Error()))
}
