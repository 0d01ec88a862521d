package registry

import (
	"fmt"
	"slices"
	"strings"

	"github.com/taskrouter/taskrouter/task"
)

// rejection tallies why the models of a capability were not candidates, so
// the error can say what to do.
type rejection struct {
	withCap      []*entry
	live, fits   int
	widest       *entry
	cheapest     *entry
	cheapestCost float64
}

func (r *rejection) noteWindow(e *entry) {
	if r.widest == nil || e.spec.ContextWindow > r.widest.spec.ContextWindow {
		r.widest = e
	}
}

func (r *rejection) noteCost(e *entry, cost float64) {
	if r.cheapest == nil || cost < r.cheapestCost {
		r.cheapest, r.cheapestCost = e, cost
	}
}

// err explains the empty candidate list; t.mu must be held for reading.
// Models that exist but have no live replica are unavailable for now
// (their executors may be restarting: retry after a heartbeat ttl); the
// rest is CodeNoModel, which a retry does not fix.
func (r rejection) err(t *table, q Query) error {
	c := q.Capability
	switch {
	case len(r.withCap) == 0:
		return task.Errorf(task.CodeNoModel,
			"no model offers capability %q; add a model with it to the configuration or check the name (capabilities on offer: %s)",
			c, listNames(knownCapabilities(t), 10))
	case r.live == 0:
		return modelUnavailable("", []string{fmt.Sprintf("no live model serves capability %q: no executor of %s is running (start one)",
			c, listNames(entryNames(r.withCap), 8))}, t.opt.HeartbeatTTL)
	case r.fits == 0:
		w := r.widest.spec
		return task.Errorf(task.CodeNoModel,
			"no live model for capability %q has a context window for %d input tokens plus its output limit (widest: %s, %d tokens with %d for output); shorten the input or start a model with a larger window",
			c, q.Tokens, w.Name, w.ContextWindow, w.MaxOutputTokens)
	}
	return task.Errorf(task.CodeNoModel,
		"every live model for capability %q costs more than max_cost $%g for %d tokens (cheapest: %s at $%.6f); raise max_cost or leave it out",
		c, q.Hints.MaxCostUSD, q.Tokens, r.cheapest.name, r.cheapestCost)
}

func knownCapabilities(t *table) []string {
	caps := make([]string, 0, len(t.byCap))
	for c := range t.byCap {
		caps = append(caps, c)
	}
	slices.Sort(caps)
	return caps
}

// listNames joins names, shortening long lists to their first limit.
func listNames(names []string, limit int) string {
	switch {
	case len(names) == 0:
		return "none"
	case len(names) <= limit:
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:limit], ", "), len(names)-limit)
}
