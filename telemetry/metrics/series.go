package metrics

import (
	"maps"
	"sync"
	"sync/atomic"
)

// seriesMap maps label values to the series they name, made once. Every
// dispatch reads several, from the router's goroutines and the
// executors' on every core; a read takes no lock, since a read lock's
// counter is one cache line that every reading core writes and so passes
// from core to core. The rare new series (a model, a status, a route
// seen for the first time) copies the map. The zero value is empty and
// ready to use.
type seriesMap[K comparable, V any] struct {
	mu sync.Mutex // serialises copies
	m  atomic.Pointer[map[K]V]
}

// get returns the series of k, made with newSeries the first time.
func (s *seriesMap[K, V]) get(k K, newSeries func() V) V {
	if m := s.m.Load(); m != nil {
		if v, ok := (*m)[k]; ok {
			return v
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var old map[K]V
	if m := s.m.Load(); m != nil {
		old = *m
		if v, ok := old[k]; ok {
			return v
		}
	}
	next := maps.Clone(old)
	if next == nil {
		next = map[K]V{}
	}
	v := newSeries()
	next[k] = v
	s.m.Store(&next)
	return v
}
