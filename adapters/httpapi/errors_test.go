package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// The named-model codes reach HTTP clients with the statuses OpenAI's
// clients expect, the same codes as on NATS, and model_unavailable with
// a Retry-After in whole seconds, rounded up.
func TestModelErrorsOverHTTP(t *testing.T) {
	unavailable := task.Errorf(task.CodeModelUnavailable, "model \"m\" is cooling down")
	unavailable.RetryAfterMs = 4200
	tests := []struct {
		err        *task.Error
		status     int
		param      string
		retryAfter string
	}{
		{task.Errorf(task.CodeModelNotFound, "no"), http.StatusNotFound, "model", ""},
		{task.Errorf(task.CodeModelLacksCapability, "no"), http.StatusBadRequest, "model", ""},
		{unavailable, http.StatusServiceUnavailable, "", "5"},
	}
	for _, tc := range tests {
		w := httptest.NewRecorder()
		e := fromTaskError(tc.err)
		writeError(w, e)
		param := ""
		if e.Param != nil {
			param = *e.Param
		}
		if w.Code != tc.status || *e.Code != string(tc.err.Code) || param != tc.param || w.Header().Get("Retry-After") != tc.retryAfter {
			t.Errorf("%s: status %d, code %s, param %q, Retry-After %q; want %d, the same code, %q, %q",
				tc.err.Code, w.Code, *e.Code, param, w.Header().Get("Retry-After"), tc.status, tc.param, tc.retryAfter)
		}
	}
	if e := fromTaskError(unavailable); e.RetryAfter != 4200*time.Millisecond {
		t.Errorf("retry after %v", e.RetryAfter)
	}
}
