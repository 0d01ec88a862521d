package console

import "sync"

// Watch tells which requests changed since it was last asked: for live
// views, which send what changed instead of every event. However many
// events arrive meanwhile, it holds each changed id once.
type Watch struct {
	rec     *Recorder
	mu      sync.Mutex
	changed map[string]struct{}
	ready   chan struct{}
}

// Watch starts following the changes of the recorder's requests; Close
// ends it.
func (rec *Recorder) Watch() *Watch {
	w := &Watch{rec: rec, changed: map[string]struct{}{}, ready: make(chan struct{}, 1)}
	rec.mu.Lock()
	rec.watches[w] = struct{}{}
	rec.mu.Unlock()
	return w
}

// Ready is signalled after a change; one signal may stand for many.
func (w *Watch) Ready() <-chan struct{} { return w.ready }

// Take returns the ids of the requests that changed, or were dropped,
// since the last Take.
func (w *Watch) Take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	ids := make([]string, 0, len(w.changed))
	for id := range w.changed {
		ids = append(ids, id)
	}
	clear(w.changed)
	return ids
}

// Close stops the watch. It is idempotent.
func (w *Watch) Close() {
	w.rec.mu.Lock()
	defer w.rec.mu.Unlock()
	delete(w.rec.watches, w)
}

// changed tells every watch that a request changed; rec.mu is held,
// for reading at least.
func (rec *Recorder) changed(id string) {
	for w := range rec.watches {
		w.mu.Lock()
		w.changed[id] = struct{}{}
		w.mu.Unlock()
		select {
		case w.ready <- struct{}{}:
		default:
		}
	}
}
