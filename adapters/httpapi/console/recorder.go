package console

import (
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// Config bounds what a Recorder keeps. Zero values take the defaults in
// brackets.
type Config struct {
	// MaxRequests is how many requests are kept, the oldest dropped first (200).
	MaxRequests int
	// Window is how long a request is kept after it started (15m).
	Window time.Duration
	// MaxBytes bounds the texts kept over all requests, roughly (32 MiB);
	// each text is also cut to task.MaxEventText.
	MaxBytes int
	// Now is the clock; tests set it.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.MaxRequests <= 0 {
		c.MaxRequests = 200
	}
	if c.Window <= 0 {
		c.Window = 15 * time.Minute
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = 32 << 20
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Recorder keeps the recent requests a router has run, and those other
// routers publish, from their progress events: each one's plan, steps,
// attempts with their times, inputs and outputs, status and cost. It is
// safe for concurrent use; Observe is cheap enough for every event of
// every request.
type Recorder struct {
	cfg Config

	mu      sync.RWMutex
	byID    map[string]*record
	order   []*record    // oldest first
	bytes   atomic.Int64 // what the records hold, roughly
	models  map[string]*ModelTotals
	watches map[*Watch]struct{}
}

// ModelTotals is what a model has done in the requests the recorder saw
// since it started.
type ModelTotals struct {
	Subtasks         int     `json:"subtasks"`
	Failed           int     `json:"failed"`
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	CostUSD          float64 `json:"cost_usd"`
}

// New returns an empty recorder.
func New(cfg Config) *Recorder {
	return &Recorder{cfg: cfg.withDefaults(), byID: map[string]*record{}, models: map[string]*ModelTotals{},
		watches: map[*Watch]struct{}{}}
}

// Observe records an event of a request this router runs; it is the
// router's observer (router.Config.Observe).
func (rec *Recorder) Observe(ev task.Event) { rec.record(ev, false) }

// ObserveRemote records an event seen on tr.v1.events; events of this
// router's own requests, which it observed already, are ignored.
func (rec *Recorder) ObserveRemote(ev task.Event) { rec.record(ev, true) }

func (rec *Recorder) record(ev task.Event, remote bool) {
	if ev.RequestID == "" {
		return
	}
	if ev.Type == task.EventProgress && !remote && rec.streamed(ev) {
		return
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	r := rec.byID[ev.RequestID]
	switch {
	case r == nil && !startsRecord(ev.Type):
		// The start of a remote request published before we listened,
		// or a request dropped while it ran: a record made of the rest
		// of its events would show a request with no plan, and with more
		// requests running than are kept each event would make one and
		// drop another.
		return
	case r == nil:
		r = rec.add(ev, remote)
	case remote && !r.remote:
		return // our own request, back from NATS
	}
	if ev.Time.IsZero() {
		ev.Time = rec.cfg.Now()
	}
	before := r.bytes
	r.apply(ev)
	rec.count(ev)
	rec.bytes.Add(int64(r.bytes - before))
	rec.evict()
	rec.changed(r.id)
}

// startsRecord reports whether an event of a request not kept starts its
// record: the plan's (a request's first event), or the end of a request
// that failed before it had a plan, or whose start was not seen.
func startsRecord(t task.EventType) bool {
	return t == task.EventPlanned || t == task.EventFinished
}

// streamed records text a running step of a request streamed, under the
// read lock, so that many requests streaming at once do not queue on the
// recorder; false leaves the event to the full path (the step is not
// known yet). The text of a request not kept is dropped here: its record
// starts with its plan.
func (rec *Recorder) streamed(ev task.Event) bool {
	if ev.Text == "" {
		return true // a keep-alive, or a chunk without text: nothing to show
	}
	rec.mu.RLock()
	r := rec.byID[ev.RequestID]
	if r == nil {
		rec.mu.RUnlock()
		return true
	}
	if r.remote {
		rec.mu.RUnlock()
		return false
	}
	r.mu.Lock()
	i, ok := r.index[ev.SubtaskID]
	if ok {
		before := r.bytes
		r.seq++
		r.stream(r.subtasks[i], ev.Text)
		rec.bytes.Add(int64(r.bytes - before))
	}
	r.mu.Unlock()
	if ok {
		rec.changed(r.id)
	}
	rec.mu.RUnlock()
	if ok && rec.bytes.Load() > int64(rec.cfg.MaxBytes) {
		rec.mu.Lock()
		rec.evict()
		rec.mu.Unlock()
	}
	return ok
}

// add starts the record of a request, cut to the bounds.
func (rec *Recorder) add(ev task.Event, remote bool) *record {
	at := ev.Time
	if at.IsZero() {
		at = rec.cfg.Now()
	}
	r := newRecord("", remote, at)
	r.id = r.clip(ev.RequestID)
	rec.byID[r.id] = r
	rec.order = append(rec.order, r)
	rec.bytes.Add(int64(r.bytes))
	return r
}

// count adds a finished step to its model's totals.
func (rec *Recorder) count(ev task.Event) {
	if ev.Model == "" || (ev.Type != task.EventDone && ev.Type != task.EventFailed) {
		return
	}
	m := rec.models[ev.Model]
	if m == nil {
		if len(rec.models) >= 4*rec.cfg.MaxRequests {
			return // remote events naming ever new models
		}
		m = &ModelTotals{}
		rec.models[ev.Model] = m
	}
	m.Subtasks++
	if ev.Type == task.EventFailed {
		m.Failed++
		return
	}
	if ev.Output != nil {
		m.PromptTokens += ev.Output.Usage.PromptTokens
		m.CompletionTokens += ev.Output.Usage.CompletionTokens
		m.CostUSD += ev.Output.Usage.CostUSD
	}
}

// evict drops the oldest requests while there are too many, they hold
// too much, or they started before the window.
func (rec *Recorder) evict() {
	horizon := rec.cfg.Now().Add(-rec.cfg.Window)
	n := 0
	for n < len(rec.order) {
		r := rec.order[n]
		if len(rec.order)-n <= rec.cfg.MaxRequests && rec.bytes.Load() <= int64(rec.cfg.MaxBytes) && !r.started.Before(horizon) {
			break
		}
		delete(rec.byID, r.id)
		rec.bytes.Add(-int64(r.bytes))
		rec.changed(r.id)
		n++
	}
	if n > 0 {
		rec.order = slices.Delete(rec.order, 0, n)
	}
}

// List returns the requests kept, the most recent first.
func (rec *Recorder) List() []Summary {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.evict()
	now := rec.cfg.Now()
	out := make([]Summary, 0, len(rec.order))
	for i := len(rec.order) - 1; i >= 0; i-- {
		out = append(out, rec.order[i].summary(now))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].StartedAt.After(out[j].StartedAt) })
	return out
}

// Get returns one request, and whether it is kept.
func (rec *Recorder) Get(id string) (Request, bool) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	r, ok := rec.byID[id]
	if !ok {
		return Request{}, false
	}
	return r.view(rec.cfg.Now()), true
}

// Summary returns the list entry of one request, and whether it is kept.
func (rec *Recorder) Summary(id string) (Summary, bool) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	r, ok := rec.byID[id]
	if !ok {
		return Summary{}, false
	}
	return r.summary(rec.cfg.Now()), true
}

// Models returns each model's totals, by name.
func (rec *Recorder) Models() map[string]ModelTotals {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	out := make(map[string]ModelTotals, len(rec.models))
	for name, m := range rec.models {
		out[name] = *m
	}
	return out
}
