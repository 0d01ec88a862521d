package kv

import (
	"context"
	"sync"
	"time"
)

// Memory is a Store in this process. It is safe for concurrent use.
type Memory struct {
	ttl time.Duration
	now func() time.Time

	mu        sync.Mutex
	entries   map[string]memEntry
	rev       uint64
	lastSweep time.Time
}

type memEntry struct {
	value   []byte
	rev     uint64
	expires time.Time
}

var _ Store = (*Memory)(nil)

// NewMemory returns a memory store whose entries live ttl after their last
// write; ttl <= 0 keeps them until the process ends.
func NewMemory(ttl time.Duration) *Memory {
	return &Memory{ttl: ttl, now: time.Now, entries: map[string]memEntry{}}
}

// Get implements Store.
func (m *Memory) Get(_ context.Context, key string) ([]byte, uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.liveLocked(key)
	if !ok {
		return nil, 0, ErrNotFound
	}
	return append([]byte(nil), e.value...), e.rev, nil
}

// Create implements Store.
func (m *Memory) Create(_ context.Context, key string, value []byte) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.liveLocked(key); ok {
		return 0, ErrExists
	}
	return m.writeLocked(key, value), nil
}

// Put implements Store.
func (m *Memory) Put(_ context.Context, key string, value []byte) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.writeLocked(key, value), nil
}

// Update implements Store.
func (m *Memory) Update(_ context.Context, key string, value []byte, rev uint64) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.liveLocked(key)
	if !ok && rev != 0 || ok && e.rev != rev {
		return 0, ErrConflict
	}
	return m.writeLocked(key, value), nil
}

// Delete implements Store.
func (m *Memory) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.entries, key)
	return nil
}

// Keys implements Store.
func (m *Memory) Keys(_ context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweepLocked(m.now(), true)
	keys := make([]string, 0, len(m.entries))
	for k := range m.entries {
		keys = append(keys, k)
	}
	return keys, nil
}

// Len returns how many live entries the store holds.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweepLocked(m.now(), true)
	return len(m.entries)
}

func (m *Memory) liveLocked(key string) (memEntry, bool) {
	e, ok := m.entries[key]
	if ok && m.ttl > 0 && !m.now().Before(e.expires) {
		delete(m.entries, key)
		return memEntry{}, false
	}
	return e, ok
}

func (m *Memory) writeLocked(key string, value []byte) uint64 {
	now := m.now()
	m.sweepLocked(now, false)
	m.rev++
	m.entries[key] = memEntry{value: append([]byte(nil), value...), rev: m.rev, expires: now.Add(m.ttl)}
	return m.rev
}

// sweepLocked drops expired entries, at most every tenth of the TTL unless
// forced, so that writes stay cheap on average.
func (m *Memory) sweepLocked(now time.Time, force bool) {
	if m.ttl <= 0 || !force && now.Sub(m.lastSweep) < m.ttl/10 {
		return
	}
	m.lastSweep = now
	for k, e := range m.entries {
		if !now.Before(e.expires) {
			delete(m.entries, k)
		}
	}
}
