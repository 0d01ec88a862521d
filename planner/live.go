package planner

import (
	"context"
	"fmt"
	"sync"

	"github.com/taskrouter/taskrouter/task"
)

// Live is a planner over a catalog that changes while it runs, as tools
// that executors serve come and go: before each plan it asks for the
// current catalog, and when that is a different catalog from the one its
// planner was built over it builds a new one. Catalogs are immutable, so
// a plan made while the catalog changes is made over one whole catalog.
type Live struct {
	catalog func() *task.Catalog
	build   func(*task.Catalog) (Planner, error)

	mu  sync.Mutex
	cat *task.Catalog
	p   Planner
}

var _ Planner = (*Live)(nil)

// NewLive returns a planner that plans over catalog() with planners that
// build makes, building the first one at once: its error is NewLive's.
func NewLive(catalog func() *task.Catalog, build func(*task.Catalog) (Planner, error)) (*Live, error) {
	l := &Live{catalog: catalog, build: build}
	cat := catalog()
	p, err := build(cat)
	if err != nil {
		return nil, err
	}
	l.cat, l.p = cat, p
	return l, nil
}

// Plan plans the request over the current catalog.
func (l *Live) Plan(ctx context.Context, req task.Request) (task.Plan, error) {
	p, err := l.current()
	if err != nil {
		return task.Plan{}, err
	}
	return p.Plan(ctx, req)
}

// current returns the planner over the current catalog, building it when
// the catalog changed.
func (l *Live) current() (Planner, error) {
	cat := l.catalog()
	l.mu.Lock()
	defer l.mu.Unlock()
	if cat == l.cat {
		return l.p, nil
	}
	p, err := l.build(cat)
	if err != nil {
		return nil, fmt.Errorf("planning over the updated catalog: %w", err)
	}
	l.cat, l.p = cat, p
	return p, nil
}
