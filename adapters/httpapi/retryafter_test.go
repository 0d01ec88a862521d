package httpapi

import (
	"net/http/httptest"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

// An overloaded answer always tells the client when to retry: the wait the
// executor asked for, rounded up to whole seconds, or one second when it
// asked for none.
func TestOverloadedCarriesRetryAfter(t *testing.T) {
	for _, c := range []struct {
		ms   int64
		want string
	}{{0, "1"}, {40, "1"}, {1500, "2"}, {30000, "30"}} {
		w := httptest.NewRecorder()
		writeError(w, fromTaskError(&task.Error{Code: task.CodeOverloaded, Retryable: true, RetryAfterMs: c.ms, Message: "busy"}))
		if w.Code != 503 || w.Header().Get("Retry-After") != c.want {
			t.Errorf("retry_after_ms %d: %d with Retry-After %q, want 503 with %q", c.ms, w.Code, w.Header().Get("Retry-After"), c.want)
		}
	}
	w := httptest.NewRecorder()
	writeError(w, fromTaskError(task.Errorf(task.CodeUpstream, "bad gateway")))
	if got := w.Header().Get("Retry-After"); got != "" {
		t.Errorf("upstream error has Retry-After %q, want none", got)
	}
}
