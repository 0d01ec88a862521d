package registry

import (
	"context"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// The live catalog holds what live models define, keeps the same catalog
// while nothing changes, and drops a model's tools when its replica goes.
func TestLiveCatalog(t *testing.T) {
	ctx := context.Background()
	clock := time.Unix(1000, 0)
	reg := NewMemory(WithClock(func() time.Time { return clock }))
	base, _ := task.NewCatalog(task.Capability{Name: "chat", Description: "Chats"})
	live := NewLiveCatalog(base, reg, nil)
	live.now = func() time.Time { return clock }
	if live.Current() != base {
		t.Fatal("with no model defining anything, the catalog is the base")
	}
	spec := task.ModelSpec{Name: "mcp/srv", Capabilities: []string{"srv-echo"},
		Defines: []task.Capability{{Name: "srv-echo", Description: "Echoes"}}}
	_ = reg.Announce(ctx, spec)
	clock = clock.Add(time.Second)
	if live.Current().Has("srv-echo") {
		t.Fatal("a model without a live replica defines nothing")
	}
	_ = reg.Heartbeat(ctx, Replica{Model: "mcp/srv", ID: "e1"}, 2*time.Second)
	clock = clock.Add(catalogRefresh)
	first := live.Current()
	if !first.Has("srv-echo") || !first.Has("chat") {
		t.Fatalf("catalog %v", first.All())
	}
	clock = clock.Add(catalogRefresh)
	if live.Current() != first {
		t.Error("an unchanged registry gave a new catalog, which makes planners rebuild")
	}
	clock = clock.Add(3 * time.Second) // the replica's heartbeat expired
	if live.Current().Has("srv-echo") {
		t.Error("a dead executor's tools stay in the catalog")
	}
}
