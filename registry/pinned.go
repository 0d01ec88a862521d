package registry

import (
	"fmt"
	"strings"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// selectPinnedLocked selects for a query that names a model
// (Hints.Model): the model, then the fallbacks its spec lists, in the
// operator's order, each when it offers the capability and can serve now.
// No other model is ever a candidate, and the policy does not reorder
// them. t.mu must be held for reading.
func (t *table) selectPinnedLocked(q Query, now time.Time, buf *[]candidate) (Selection, error) {
	named := t.models[q.Hints.Model]
	if named == nil || !named.hasSpec {
		return Selection{}, t.notFoundLocked(q)
	}
	if !named.spec.Has(q.Capability) {
		return Selection{}, t.lacksLocked(named, q.Capability)
	}
	chain, skipped := t.chainLocked(named, q.Capability)
	live := t.liveAt(now)
	cands := (*buf)[:0]
	verdicts := make([]verdict, len(chain))
	for i, e := range chain {
		var c candidate
		if c, verdicts[i] = e.screenLocked(q, now, live, i); verdicts[i] == admissible {
			cands = append(cands, c)
		}
	}
	*buf = cands
	if ready := partitionReady(cands); len(ready) > 0 {
		return selection(ready, chain, t.opt.MaxFallbacks), nil
	}
	return Selection{}, t.pinnedErr(q, chain, verdicts, cands, skipped, now)
}

// chainLocked is the named model and its fallbacks that are announced and
// offer the capability, without repeats; skipped says why the other
// fallbacks were left out.
func (t *table) chainLocked(named *entry, capability string) (chain []*entry, skipped []string) {
	chain = []*entry{named}
	for _, name := range named.spec.Fallbacks {
		e := t.models[name]
		switch {
		case e == nil || !e.hasSpec:
			skipped = append(skipped, fmt.Sprintf("fallback %q is not registered", name))
		case !e.spec.Has(capability):
			skipped = append(skipped, fmt.Sprintf("fallback %q does not offer capability %q", name, capability))
		case !containsEntry(chain, e):
			chain = append(chain, e)
		}
	}
	return chain, skipped
}

func containsEntry(list []*entry, e *entry) bool {
	for _, x := range list {
		if x == e {
			return true
		}
	}
	return false
}

// pinnedErr explains why neither the named model nor a fallback can take
// the query. Cooling down or down is CodeModelUnavailable (a retry later
// may succeed); otherwise a window too small for the named model is
// CodeContextLength, and the cost limit CodeNoModel.
func (t *table) pinnedErr(q Query, chain []*entry, verdicts []verdict, blocked []candidate, skipped []string, now time.Time) error {
	parts, wait := blockedParts(blocked, chain, now)
	down := false
	for i, e := range chain {
		switch verdicts[i] {
		case notLive:
			down = true
			parts = append(parts, fmt.Sprintf("model %q has no live replica (no executor serves it; start one)", e.name))
		case noFit:
			parts = append(parts, fmt.Sprintf("model %q has a context window of %d tokens, %d of them for output: too small for %d input tokens",
				e.name, e.spec.ContextWindow, e.spec.MaxOutputTokens, q.Tokens))
		case tooDear:
			parts = append(parts, fmt.Sprintf("model %q costs about $%.6f for %d tokens, more than max_cost $%g",
				e.name, EstimateCost(e.spec, q.Tokens), q.Tokens, q.Hints.MaxCostUSD))
		}
	}
	parts = append(parts, skipped...)
	switch {
	case down || len(blocked) > 0:
		if down && (wait < 0 || t.opt.HeartbeatTTL < wait) {
			wait = t.opt.HeartbeatTTL
		}
		return modelUnavailable(pinnedHeading(chain), parts, wait)
	case verdicts[0] == noFit:
		return task.Errorf(task.CodeContextLength, "%s%s; shorten the input or name a model with a larger window",
			pinnedHeading(chain), strings.Join(parts, "; "))
	}
	return task.Errorf(task.CodeNoModel, "%s%s; raise max_cost or leave it out", pinnedHeading(chain), strings.Join(parts, "; "))
}

func pinnedHeading(chain []*entry) string {
	if len(chain) == 1 {
		return ""
	}
	return fmt.Sprintf("neither model %q nor its fallbacks can take this: ", chain[0].name)
}

// notFoundLocked is the error for a query naming a model nobody announced.
func (t *table) notFoundLocked(q Query) error {
	return task.Errorf(task.CodeModelNotFound,
		"model %q is not registered: no executor announced it; name one of the models with capability %q (%s), or name none to let taskrouter choose",
		q.Hints.Model, q.Capability, listNames(entryNames(t.byCap[q.Capability]), 10))
}

// lacksLocked is the error for a named model without the capability.
func (t *table) lacksLocked(e *entry, capability string) error {
	return task.Errorf(task.CodeModelLacksCapability,
		"model %q does not offer capability %q (it offers %s); name a model that does (%s), or name none to let taskrouter choose",
		e.name, capability, listNames(e.spec.Capabilities, 10), listNames(entryNames(t.byCap[capability]), 10))
}

func entryNames(list []*entry) []string {
	names := make([]string, len(list))
	for i, e := range list {
		names[i] = e.name
	}
	return names
}
