package registry

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// ewmaAlpha is the weight of the newest latency sample.
const ewmaAlpha = 0.2

// table is the registry state both backends select from: the memory backend
// owns it outright, the Redis backend refreshes it from Redis.
type table struct {
	opt *Options

	mu     sync.RWMutex
	models map[string]*entry
	// byCap lists the announced models of each capability, sorted by name;
	// it is rebuilt whenever a spec changes, which is rare.
	byCap map[string][]*entry
	// frozenAt, when set (unix ns), is the time replica liveness is judged
	// at instead of now: while Redis is away no heartbeat can arrive, so the
	// last snapshot stays live.
	frozenAt atomic.Int64
}

// entry is one model. Fields above mu are guarded by table.mu.
type entry struct {
	name     string
	spec     task.ModelSpec
	hasSpec  bool
	local    bool
	replicas []replicaSlot
	// peerInFlight is what other routers report in flight (Redis only).
	peerInFlight int

	// inFlight counts this router's dispatches between Started and Finished.
	inFlight atomic.Int64

	mu     sync.Mutex
	cd     cooldown
	ewmaMs float64
	errors int
	usage  task.Usage
}

// replicaSlot is a replica and when it expires, in unix ns on the
// registry's clock.
type replicaSlot struct {
	Replica
	expires int64
	ttl     time.Duration // of its last heartbeat
}

func newTable(opt *Options) *table {
	return &table{opt: opt, models: map[string]*entry{}, byCap: map[string][]*entry{}}
}

// entry returns the model's entry, creating it if needed.
func (t *table) entry(name string) *entry {
	t.mu.RLock()
	e := t.models[name]
	t.mu.RUnlock()
	if e != nil {
		return e
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.entryLocked(name)
}

func (t *table) entryLocked(name string) *entry {
	e := t.models[name]
	if e == nil {
		e = &entry{name: name}
		t.models[name] = e
	}
	return e
}

func (t *table) announce(spec task.ModelSpec) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.setSpecLocked(t.entryLocked(spec.Name), spec)
	t.reindexLocked()
}

// withdraw forgets a model's spec; the entry, with its counters, stays.
func (t *table) withdraw(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.models[name]; e != nil && e.hasSpec {
		e.spec, e.hasSpec = task.ModelSpec{}, false
		t.reindexLocked()
	}
}

func (t *table) setSpecLocked(e *entry, spec task.ModelSpec) {
	e.spec, e.hasSpec = spec, true
	e.local = spec.Backend == task.BackendLocal
}

// reindexLocked rebuilds byCap from the announced specs.
func (t *table) reindexLocked() {
	byCap := map[string][]*entry{}
	for _, e := range t.models {
		if !e.hasSpec {
			continue
		}
		for _, c := range e.spec.Capabilities {
			if !slices.Contains(byCap[c], e) {
				byCap[c] = append(byCap[c], e)
			}
		}
	}
	for _, list := range byCap {
		slices.SortFunc(list, func(a, b *entry) int { return strings.Compare(a.name, b.name) })
	}
	t.byCap = byCap
}

func (t *table) heartbeat(r Replica, ttl time.Duration, now time.Time) {
	r.SeenAt = now
	slot := replicaSlot{Replica: r, expires: now.Add(ttl).UnixNano(), ttl: ttl}
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entryLocked(r.Model)
	e.replicas = upsertReplica(e.replicas, slot, now.UnixNano())
}

// upsertReplica replaces or adds slot and drops expired replicas, so the
// list never grows with dead executors.
func upsertReplica(list []replicaSlot, slot replicaSlot, now int64) []replicaSlot {
	out := list[:0]
	found := false
	for _, s := range list {
		switch {
		case s.ID == slot.ID:
			out, found = append(out, slot), true
		case s.expires > now:
			out = append(out, s)
		}
	}
	if !found {
		out = append(out, slot)
	}
	return out
}

func (t *table) deregister(model, id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.models[model]; e != nil {
		e.replicas = slices.DeleteFunc(e.replicas, func(s replicaSlot) bool { return s.ID == id })
	}
}

// liveAt is the time replica expiry is judged at.
func (t *table) liveAt(now time.Time) int64 {
	n := now.UnixNano()
	if f := t.frozenAt.Load(); f != 0 && f < n {
		return f
	}
	return n
}

// spec returns an announced model's spec.
func (t *table) spec(name string) (task.ModelSpec, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if e := t.models[name]; e != nil && e.hasSpec {
		return e.spec, true
	}
	return task.ModelSpec{}, false
}

// liveReplicas counts a model's replicas that are live at now.
func (t *table) liveReplicas(model string, now time.Time) int {
	live := t.liveAt(now)
	t.mu.RLock()
	defer t.mu.RUnlock()
	n := 0
	if e := t.models[model]; e != nil {
		for _, r := range e.replicas {
			if r.expires > live {
				n++
			}
		}
	}
	return n
}

// started admits a dispatch to model and counts it in flight, or returns
// the breaker's refusal; see Observer.Started.
func (t *table) started(model string, now time.Time) error {
	e := t.entry(model)
	e.mu.Lock()
	to, wait := e.cd.admit(now, t.opt)
	ev := e.eventLocked(to, e.cd.last.replica, now)
	var err error
	if wait > 0 {
		err = e.refusalLocked(now, wait)
	} else {
		e.inFlight.Add(1)
	}
	e.mu.Unlock()
	t.logBreaker(ev)
	return err
}

// finished records an outcome; it reports whether the model's cooldown
// opened or grew, with its end, period and cause.
func (t *table) finished(model string, o Outcome, now time.Time) (changed bool, until time.Time, period time.Duration, cause failure) {
	e := t.entry(model)
	if e.inFlight.Add(-1) < 0 {
		e.inFlight.Store(0)
	}
	e.mu.Lock()
	if o.OK {
		e.ewmaMs = ewma(e.ewmaMs, float64(o.Latency)/float64(time.Millisecond))
		e.usage = e.usage.Add(o.Usage)
	} else {
		e.errors++
	}
	to, changed := e.cd.finished(now, o, t.opt)
	ev := e.eventLocked(to, o.Replica, now)
	until, period, cause = e.cd.until, e.cd.period, e.cd.last
	e.mu.Unlock()
	t.logBreaker(ev)
	t.sawReplica(model, o.Replica, now)
	return changed, until, period, cause
}

// sawReplica extends the life of a replica that just answered a dispatch,
// as a heartbeat would: it is alive, whatever its heartbeats say, which on
// a starved machine (a burst) come late. A replica whose registration ran
// out less than a TTL ago comes back; an unknown one does not.
func (t *table) sawReplica(model, id string, now time.Time) {
	if id == "" {
		return
	}
	n := now.UnixNano()
	stale := func(r *replicaSlot) bool {
		return r.ID == id && r.ttl > 0 && r.expires > n-int64(r.ttl) && r.expires-n < int64(r.ttl)/2
	}
	t.mu.RLock()
	e := t.models[model]
	need := e != nil && slices.ContainsFunc(e.replicas, func(r replicaSlot) bool { return stale(&r) })
	t.mu.RUnlock()
	if !need {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range e.replicas {
		if r := &e.replicas[i]; stale(r) {
			r.expires = n + int64(r.ttl)
		}
	}
}

func ewma(old, sample float64) float64 {
	if old == 0 {
		return sample
	}
	return old + ewmaAlpha*(sample-old)
}
