package executors_test

import (
	"context"
	"testing"

	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/task"
)

// A model name NATS refuses as a queue group is a bad request, said as
// such, not a connection failure.
func TestStartRefusesAModelNameNATSCannotCarry(t *testing.T) {
	b, err := bus.Start(context.Background(), bus.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	nc, _ := b.Connect("executor")
	spec := task.ModelSpec{Name: "my model", Backend: task.BackendLocal, Capabilities: []string{"x"}}
	_, err = executors.Start(context.Background(), nc, executors.Config{Announcer: registry.NewMemory(),
		Models: []executors.Served{{Spec: spec, Model: nil}}})
	if te := task.AsError(err); te == nil || te.Code != task.CodeInvalidRequest {
		t.Fatalf("Start with model %q: %v, want an invalid_request", spec.Name, err)
	}
}
