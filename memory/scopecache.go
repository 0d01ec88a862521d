package memory

import (
	"context"
	"sync"
	"time"
)

// scopeCache keeps the sealed index segments of recently used scopes in
// the process, so that a lookup reads a scope's record and its open
// segment only. An entry holds while the scope's epoch does; a removal
// gives the scope a new epoch, and every router drops its entry at its
// next lookup. Entries unused for scopeIdle are dropped, and the oldest
// go first when the docs kept pass the bound.
type scopeCache struct {
	mu      sync.Mutex
	entries map[string]*scopeEntry
	docs    int
	max     int
	swept   time.Time
}

type scopeEntry struct {
	epoch  string
	sealed []*segIndex
	loaded int // sealed segments read into it
	used   time.Time
}

// scopeIdle is how long an unused scope stays in the cache.
const scopeIdle = 5 * time.Minute

func newScopeCache(maxDocs int) *scopeCache {
	return &scopeCache{entries: map[string]*scopeEntry{}, max: maxDocs}
}

// scopeView is a scope as one lookup read it: its record, its open
// segment (for writing the next docs) and every segment, indexed.
type scopeView struct {
	meta scopeMeta
	rev  uint64
	open segment
	segs []*segIndex
}

// read returns a scope's docs, reading only what the cache lacks.
func (c *scopeCache) read(ctx context.Context, b Reader, sk string) (scopeView, error) {
	sm, rev, err := readScope(ctx, b, sk)
	if err != nil || sm.Segments == 0 {
		return scopeView{meta: sm, rev: rev}, err
	}
	e := c.get(sk, sm.Epoch)
	sealed := sm.Segments - 1
	var ns []int
	for n := e.loaded; n < sealed; n++ {
		ns = append(ns, n)
	}
	segs, err := readSegments(ctx, b, sk, append(ns, sealed))
	if err != nil {
		return scopeView{}, err
	}
	indexed := append(e.sealed[:len(e.sealed):len(e.sealed)], indexOf(segs[:len(segs)-1])...)
	if len(ns) > 0 {
		c.put(sk, &scopeEntry{epoch: sm.Epoch, sealed: indexed, loaded: sealed})
	}
	open := segs[len(segs)-1]
	all := append(indexed[:len(indexed):len(indexed)], newSegIndex(open.docs))
	return scopeView{meta: sm, rev: rev, open: open, segs: all}, nil
}

// get returns the scope's entry for epoch, or an empty one.
func (c *scopeCache) get(sk, epoch string) *scopeEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if now.Sub(c.swept) > time.Minute {
		c.sweepLocked(now)
	}
	e := c.entries[sk]
	if e == nil || e.epoch != epoch {
		return &scopeEntry{epoch: epoch}
	}
	e.used = now
	return e
}

// put stores a scope's entry.
func (c *scopeCache) put(sk string, e *scopeEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.entries[sk]; old != nil {
		c.docs -= countDocs(old.sealed)
	}
	e.used = time.Now()
	c.entries[sk] = e
	c.docs += countDocs(e.sealed)
	for c.docs > c.max && len(c.entries) > 1 {
		c.evictOldestLocked(sk)
	}
}

// drop forgets a scope.
func (c *scopeCache) drop(sk string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[sk]; e != nil {
		c.docs -= countDocs(e.sealed)
		delete(c.entries, sk)
	}
}

func (c *scopeCache) sweepLocked(now time.Time) {
	c.swept = now
	for sk, e := range c.entries {
		if now.Sub(e.used) > scopeIdle {
			c.docs -= countDocs(e.sealed)
			delete(c.entries, sk)
		}
	}
}

func (c *scopeCache) evictOldestLocked(keep string) {
	var oldest string
	var at time.Time
	for sk, e := range c.entries {
		if sk != keep && (oldest == "" || e.used.Before(at)) {
			oldest, at = sk, e.used
		}
	}
	if e := c.entries[oldest]; e != nil {
		c.docs -= countDocs(e.sealed)
		delete(c.entries, oldest)
	}
}
