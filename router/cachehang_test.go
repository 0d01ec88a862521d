package router_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/task"
)

// hangingCache is a cache whose store is away: every call waits for its
// context to end, as a hung Redis makes it.
type hangingCache struct{ calls atomic.Int64 }

func (c *hangingCache) Get(ctx context.Context, _ string) (task.Output, bool, error) {
	c.calls.Add(1)
	<-ctx.Done()
	return task.Output{}, false, ctx.Err()
}

func (c *hangingCache) Put(ctx context.Context, _ string, _ task.Output) error {
	c.calls.Add(1)
	<-ctx.Done()
	return ctx.Err()
}

// A cache that hangs costs a request at most its short timeout, and then
// none at all for a while: the answer comes from the model, and the next
// requests do not ask the cache.
func TestHangingCacheIsPassedOver(t *testing.T) {
	cache := &hangingCache{}
	e := newEnv(t, router.Config{Cache: cache})
	e.executor("x", served("local/calc", echo(0, nil), 4, "calc"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a hang fails the test
	defer cancel()
	for i := range 3 {
		resp := e.run(ctx, plan(sub("t1", "calc", "1+1")))
		if resp.Error != nil || resp.Subtasks[0].Cached {
			t.Fatalf("request %d: %+v", i, resp.Error)
		}
	}
	if n := cache.calls.Load(); n != 1 {
		t.Fatalf("the cache was asked %d times; after its first failure it should be left alone", n)
	}
}
