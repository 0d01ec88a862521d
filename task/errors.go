package task

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Code is a stable, machine-readable error class. Codes never change
// meaning; clients branch on them, never on message text.
type Code string

// The error codes of taskrouter.
const (
	CodeInvalidRequest Code = "invalid_request" // the caller sent something malformed
	CodeInvalidPlan    Code = "invalid_plan"    // a plan failed validation
	CodeNoModel        Code = "no_model"        // no live model serves a capability
	CodeModelNotFound  Code = "model_not_found" // the request named a model nobody serves
	// CodeModelLacksCapability: the named model does not offer the capability a subtask needs.
	CodeModelLacksCapability Code = "model_lacks_capability"
	// CodeModelUnavailable: the model, and every fallback configured for it,
	// is cooling down after failures or has no live replica; retry after
	// RetryAfterMs.
	CodeModelUnavailable Code = "model_unavailable"
	CodeBadInput         Code = "bad_input"      // a model cannot work on this input
	CodeOverloaded       Code = "overloaded"     // an executor is at capacity; retry
	CodeRateLimited      Code = "rate_limited"   // an upstream said 429; retry after a wait
	CodeUpstream         Code = "upstream"       // an upstream failed transiently; retry
	CodeContextLength    Code = "context_length" // the input does not fit the model's window
	CodeAuth             Code = "auth"           // credentials missing or refused
	CodeNotFound         Code = "not_found"      // a named thing does not exist
	CodeTimeout          Code = "timeout"        // a deadline passed
	CodeCancelled        Code = "cancelled"      // the caller cancelled
	CodeLost             Code = "lost"           // an executor went silent mid-subtask
	CodeUnavailable      Code = "unavailable"    // a service (NATS, Redis) is unreachable
	CodeTooLarge         Code = "too_large"      // a value is larger than a store or link of the deployment takes
	CodeInternal         Code = "internal"       // a bug; please report it

	// CodeInvalidArgs: a subtask's arguments do not fit the input schema
	// of the tool it calls (a missing required parameter, a wrong type);
	// the message names the parameter. Nothing was called.
	CodeInvalidArgs Code = "invalid_args"
	// CodeToolTimeout: a tool server did not answer a call within its
	// per-call timeout; the call was cancelled. Retryable: another
	// attempt may find the server responsive.
	CodeToolTimeout Code = "tool_timeout"
	// CodeToolFailed: a tool server died or broke the protocol during a
	// call; the executor restarts it. Not retried, as the same call may
	// crash it again and a tool may have acted before it died.
	CodeToolFailed Code = "tool_failed"
	// CodeToolError: the tool ran and answered with an error result
	// (MCP's isError); the message is the tool's own text.
	CodeToolError Code = "tool_error"
)

// Error is the error type that crosses process boundaries: it is what
// executors reply and what a failed Response carries.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
	// Subtask names the subtask the error is about, if any.
	Subtask string `json:"subtask,omitempty"`
	// Retryable says whether the same work may succeed on another attempt.
	Retryable bool `json:"retryable,omitempty"`
	// RetryAfterMs asks the caller to wait this long before retrying.
	RetryAfterMs int64 `json:"retry_after_ms,omitempty"`
}

// Error implements error.
func (e *Error) Error() string {
	if e.Subtask != "" {
		return fmt.Sprintf("%s (subtask %s): %s", e.Code, e.Subtask, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Is matches another *Error by code, so errors.Is(err, &Error{Code: c}) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Message == ""
}

// RetryAfter is RetryAfterMs as a duration.
func (e *Error) RetryAfter() time.Duration { return time.Duration(e.RetryAfterMs) * time.Millisecond }

// Errorf returns an *Error with the given code. Codes that are transient by
// nature (overloaded, rate_limited, upstream, lost, unavailable,
// model_unavailable, tool_timeout) are marked retryable.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Retryable: code.retryable()}
}

func (c Code) retryable() bool {
	switch c {
	case CodeOverloaded, CodeRateLimited, CodeUpstream, CodeLost, CodeUnavailable, CodeModelUnavailable, CodeToolTimeout:
		return true
	}
	return false
}

// AsError converts any error into an *Error, keeping an *Error found in the
// chain and classifying context errors; anything else is CodeInternal.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	switch {
	case errors.Is(err, context.Canceled):
		return &Error{Code: CodeCancelled, Message: err.Error()}
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Code: CodeTimeout, Message: err.Error()}
	}
	return &Error{Code: CodeInternal, Message: err.Error()}
}
