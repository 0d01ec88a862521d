package planner_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/taskrouter/taskrouter/planner"
	"github.com/taskrouter/taskrouter/task"
)

// The live planner plans over the catalog of the moment, and builds a
// planner only when the catalog changes.
func TestLivePlannerFollowsTheCatalog(t *testing.T) {
	base := task.BuiltinCatalog()
	withTool, err := base.With(task.Capability{Name: "everything-echo", Description: "Echoes back the input string", Keywords: []string{"echo"}})
	if err != nil {
		t.Fatal(err)
	}
	var current atomic.Pointer[task.Catalog]
	current.Store(base)
	var builds atomic.Int32
	p, err := planner.NewLive(current.Load, func(cat *task.Catalog) (planner.Planner, error) {
		builds.Add(1)
		return planner.New(planner.ModeRules, cat)
	})
	if err != nil {
		t.Fatal(err)
	}
	req := task.Request{Input: "Echo back this string: hello"}
	plan, err := p.Plan(context.Background(), req)
	if err != nil || plan.Tasks[0].Capability == "everything-echo" {
		t.Fatalf("before the tool exists: %+v, %v", plan, err)
	}
	current.Store(withTool)
	for range 2 {
		plan, err = p.Plan(context.Background(), req)
		if err != nil || len(plan.Tasks) != 1 || plan.Tasks[0].Capability != "everything-echo" || plan.Tasks[0].Input != "hello" {
			t.Fatalf("with the tool: %+v, %v", plan, err)
		}
	}
	if builds.Load() != 2 {
		t.Errorf("built %d planners for 2 catalogs", builds.Load())
	}
}
