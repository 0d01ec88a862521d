package registry

import (
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// DefiningLister lists, without I/O, the live models that define
// capabilities of their own; Memory and Redis implement it.
type DefiningLister interface {
	Defining() []task.ModelSpec
}

// catalogRefresh is how often a LiveCatalog looks at the registry again:
// a tool an executor starts serving is in the catalog within it (plus a
// Redis snapshot's refresh), and one whose executor died leaves with its
// replica's heartbeat.
const catalogRefresh = 250 * time.Millisecond

// LiveCatalog is a router's view of the capability catalog: a base
// catalog (built-in entries and catalog files) plus the capabilities that
// models with a live replica define, such as the tools an MCP executor
// serves from any machine. Current returns the same *task.Catalog for as
// long as the definitions do not change, so planners that index the
// catalog rebuild their index only when it does. It is safe for
// concurrent use.
type LiveCatalog struct {
	base *task.Catalog
	src  DefiningLister
	log  *slog.Logger
	now  func() time.Time

	mu      sync.Mutex
	checked time.Time
	key     string
	cur     *task.Catalog
	warned  map[string]bool
}

// NewLiveCatalog returns the view of base plus what src's live models
// define. A definition left out (it clashes with the base or another
// model's) is logged once at warn.
func NewLiveCatalog(base *task.Catalog, src DefiningLister, log *slog.Logger) *LiveCatalog {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &LiveCatalog{base: base, src: src, log: log, now: time.Now, cur: base, warned: map[string]bool{}}
}

// Current returns the catalog as of now, looking at the registry at most
// every quarter second.
func (l *LiveCatalog) Current() *task.Catalog {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if !l.checked.IsZero() && now.Sub(l.checked) < catalogRefresh {
		return l.cur
	}
	l.checked = now
	specs := l.src.Defining()
	key := definingKey(specs)
	if key == l.key {
		return l.cur
	}
	cat, skipped := l.base.WithDefined(specs)
	for _, err := range skipped {
		if msg := err.Error(); !l.warned[msg] {
			l.warned[msg] = true
			l.log.Warn("leaving a capability a model defines out of the catalog", "reason", msg)
		}
	}
	l.key, l.cur = key, cat
	return cat
}

// definingKey is a fingerprint of what the specs define, to tell when
// the catalog must be rebuilt.
func definingKey(specs []task.ModelSpec) string {
	type def struct {
		Model   string
		Caps    []string
		Defines []task.Capability
	}
	defs := make([]def, len(specs))
	for i, s := range specs {
		defs[i] = def{s.Name, s.Capabilities, s.Defines}
	}
	data, _ := json.Marshal(defs)
	return string(data)
}
