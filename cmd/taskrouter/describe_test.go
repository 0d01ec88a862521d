package main

import (
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

// ask tells a user when a cooling model may be tried again, in whole
// seconds rounded up, and where to look for a model it does not know.
func TestDescribeErrorSaysWhatToDo(t *testing.T) {
	unavailable := task.Errorf(task.CodeModelUnavailable, `model "m" is cooling down`)
	unavailable.RetryAfterMs = 4200
	tests := []struct {
		err  *task.Error
		want string
	}{
		{unavailable, "retry in 5s"},
		{task.Errorf(task.CodeModelNotFound, `model "nope" is not registered`), "taskrouter models"},
		{task.Errorf(task.CodeModelLacksCapability, `model "m" does not offer capability "calc"`), "taskrouter models"},
	}
	for _, tc := range tests {
		if got := describeError(tc.err); !strings.Contains(got, tc.want) || !strings.Contains(got, tc.err.Message) {
			t.Errorf("describeError(%v) = %q, want the message and %q", tc.err, got, tc.want)
		}
	}
}
