package conformance

import (
	"context"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// testErrors checks that each upstream failure arrives as its error class,
// retryable or not, with the wait a 429 asked for.
func testErrors(t *testing.T, b Backend) {
	cases := []struct {
		name       string
		script     Script
		code       task.Code
		retryable  bool
		retryAfter time.Duration
	}{
		{"rate limited", Script{Case: CaseRateLimited, RetryAfter: 2 * time.Second}, task.CodeRateLimited, true, 2 * time.Second},
		{"server error", Script{Case: CaseServerError}, task.CodeUpstream, true, 0},
		{"unauthorized", Script{Case: CaseUnauthorized}, task.CodeAuth, false, 0},
		{"bad request", Script{Case: CaseBadRequest}, task.CodeBadInput, false, 0},
		{"context length", Script{Case: CaseContextLength}, task.CodeContextLength, false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := b.New(t, c.script)
			ctx, cancel := context.WithTimeout(context.Background(), 10*Prompt)
			defer cancel()
			_, err := s.Model.Generate(ctx, s.Work, nil)
			if err == nil {
				t.Fatal("Generate succeeded against a failing upstream")
			}
			got := task.AsError(err)
			if got.Code != c.code || got.Retryable != c.retryable {
				t.Errorf("error = %s retryable=%v (%v), want %s retryable=%v", got.Code, got.Retryable, err, c.code, c.retryable)
			}
			if c.retryAfter > 0 && got.RetryAfter() < c.retryAfter {
				t.Errorf("RetryAfterMs = %d, want at least %s", got.RetryAfterMs, c.retryAfter)
			}
		})
	}
}
