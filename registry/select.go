package registry

import (
	"cmp"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// EstimateCost estimates the price in dollars of a subtask of the given
// input size: the output is assumed as long as the input, at most the
// model's output limit.
func EstimateCost(spec task.ModelSpec, tokens int) float64 {
	out := tokens
	if spec.MaxOutputTokens > 0 {
		out = min(out, spec.MaxOutputTokens)
	}
	return spec.Cost(tokens, out)
}

// candidate is a model that passed the hard filters, with what ranks it.
// It holds no pointers, so sorting it costs no GC write barriers.
type candidate struct {
	idx                          int32 // into the capability's entry list
	first                        int32 // 1 preferred local, 0 other
	quality, cost, latency, load float64
	score                        int64
	wait                         int64 // ns until its breaker admits a dispatch; 0 when it does now
}

var scratchPool = sync.Pool{New: func() any { return new([]candidate) }}

// selectModel runs the selection for q at now; see Memory.Select.
func (t *table) selectModel(q Query, now time.Time) (Selection, error) {
	policy := cmp.Or(q.Hints.Policy, t.opt.Policy)
	if !ValidPolicy(policy) {
		return Selection{}, task.Errorf(task.CodeInvalidRequest, "unknown policy %q: use quality, cost, latency or balanced", policy)
	}
	buf := scratchPool.Get().(*[]candidate)
	defer scratchPool.Put(buf)

	t.mu.RLock()
	defer t.mu.RUnlock()
	if q.Hints.Model != "" {
		return t.selectPinnedLocked(q, now, buf)
	}
	list := t.byCap[q.Capability]
	cands, why := t.gatherLocked(q, now, list, (*buf)[:0])
	*buf = cands
	if len(cands) == 0 {
		return Selection{}, why.err(t, q)
	}
	ready := partitionReady(cands)
	if len(ready) == 0 {
		parts, wait := blockedParts(cands, list, now)
		return Selection{}, modelUnavailable(fmt.Sprintf("no model with capability %q can take work now: ", q.Capability), parts, wait)
	}
	rank(ready, list, t.opt.weightsFor(policy), keep(t.opt.MaxFallbacks))
	return selection(ready, list, t.opt.MaxFallbacks), nil
}

// verdict says whether a model can take a query, or why not.
type verdict int8

const (
	admissible verdict = iota
	notLive
	noFit
	tooDear
)

// screenLocked checks one model, list[idx], against q: a live replica, a
// window that fits, a cost within the limit. An admissible candidate's
// wait says whether its breaker admits a dispatch now.
func (e *entry) screenLocked(q Query, now time.Time, live int64, idx int) (candidate, verdict) {
	load, ok := e.loadLocked(live)
	if !ok {
		return candidate{}, notLive
	}
	if !e.spec.Fits(q.Tokens) {
		return candidate{}, noFit
	}
	c := candidate{idx: int32(idx), quality: e.spec.QualityFor(q.Capability), cost: EstimateCost(e.spec, q.Tokens), load: load}
	if q.Hints.MaxCostUSD > 0 && c.cost > q.Hints.MaxCostUSD {
		return c, tooDear
	}
	if q.Hints.PreferLocal && e.local {
		c.first = 1
	}
	e.mu.Lock()
	c.latency = e.ewmaMs
	if wait, refused := e.cd.refusal(now); refused {
		c.wait = max(int64(wait), 1)
	}
	e.mu.Unlock()
	return c, admissible
}

// gatherLocked appends the models of list that have a live replica, a
// window that fits and a cost within the limit; why tallies the rest.
func (t *table) gatherLocked(q Query, now time.Time, list []*entry, out []candidate) ([]candidate, rejection) {
	why := rejection{withCap: list}
	live := t.liveAt(now)
	for i, e := range list {
		c, v := e.screenLocked(q, now, live, i)
		if v == notLive {
			continue
		}
		why.live++
		if v == noFit {
			why.noteWindow(e)
			continue
		}
		why.fits++
		if v == tooDear {
			why.noteCost(e, c.cost)
			continue
		}
		out = append(out, c)
	}
	return out, why
}

// loadLocked returns in-flight work over capacity across live replicas, and
// false when the model has no live replica.
func (e *entry) loadLocked(live int64) (float64, bool) {
	inFlight, capacity, n := int(e.inFlight.Load())+e.peerInFlight, 0, 0
	perReplica := max(e.spec.Concurrency, 1)
	for i := range e.replicas {
		r := &e.replicas[i]
		if r.expires <= live {
			continue
		}
		n++
		inFlight += r.InFlight
		if r.Capacity > 0 {
			capacity += r.Capacity
		} else {
			capacity += perReplica
		}
	}
	if n == 0 {
		return 0, false
	}
	return float64(inFlight) / float64(capacity), true
}

// partitionReady moves the candidates whose breaker admits a dispatch to
// the front, keeping their order, and returns them; the refused ones
// follow, in no particular order.
func partitionReady(cands []candidate) []candidate {
	n := 0
	for i := range cands {
		if cands[i].wait == 0 {
			cands[n], cands[i] = cands[i], cands[n]
			n++
		}
	}
	return cands[:n]
}

// rank scores the candidates under w and puts the best k first, in order
// (all of them when k < 0): preferred local, then by score,
// then less loaded, then by name.
func rank(cands []candidate, list []*entry, w Weights, k int) {
	var maxCost, maxLat, sumLat float64
	known := 0
	for _, c := range cands {
		maxCost = max(maxCost, c.cost)
		if c.latency > 0 {
			maxLat, sumLat, known = max(maxLat, c.latency), sumLat+c.latency, known+1
		}
	}
	for i := range cands {
		c := &cands[i]
		lat := c.latency
		if lat == 0 && known > 0 {
			lat = sumLat / float64(known) // unknown latency counts as average
		}
		s := w.Quality*c.quality - w.Cost*ratio(c.cost, maxCost) - w.Latency*ratio(lat, maxLat) - w.Load*c.load
		c.score = int64(math.Round(s * 1e9)) // equal up to rounding noise
	}
	bestFirst(cands, list, k, better)
}

// bestFirst puts the k smallest under compare first, in order; k < 0 sorts
// everything. A router wants a few fallbacks, not a hundred, and a partial
// insertion sort finds them with about one comparison per candidate.
func bestFirst(cands []candidate, list []*entry, k int, compare ordering) {
	if len(cands) < 2 {
		return // most capabilities have one model: nothing to order
	}
	if k < 0 || k >= len(cands) {
		sort.Sort(byCompare{cands, list, compare})
		return
	}
	if k == 0 {
		return
	}
	for i := 1; i < len(cands); i++ {
		j := min(i, k-1)
		if i >= k {
			if compare(&cands[i], &cands[k-1], list) >= 0 {
				continue
			}
			cands[i], cands[k-1] = cands[k-1], cands[i]
		}
		for ; j > 0 && compare(&cands[j], &cands[j-1], list) < 0; j-- {
			cands[j], cands[j-1] = cands[j-1], cands[j]
		}
	}
}

// ordering compares two candidates of list, like cmp.Compare. Orderings
// are plain functions, not closures, so Select does not allocate them.
type ordering func(a, b *candidate, list []*entry) int

// better orders candidates best first; it is written out rather than with
// cmp.Or, which would compare names every time.
func better(a, b *candidate, list []*entry) int {
	switch {
	case a.first != b.first:
		return cmp.Compare(b.first, a.first)
	case a.score != b.score:
		return cmp.Compare(b.score, a.score)
	case a.load != b.load:
		return cmp.Compare(a.load, b.load)
	}
	return strings.Compare(list[a.idx].name, list[b.idx].name)
}

// byCompare sorts candidates in place; sort.Sort, unlike slices.SortFunc
// over values, hands compare pointers into the slice without copying.
type byCompare struct {
	c       []candidate
	list    []*entry
	compare ordering
}

func (s byCompare) Len() int           { return len(s.c) }
func (s byCompare) Less(i, j int) bool { return s.compare(&s.c[i], &s.c[j], s.list) < 0 }
func (s byCompare) Swap(i, j int)      { s.c[i], s.c[j] = s.c[j], s.c[i] }

// keep is how many candidates a selection orders: the model and its
// fallbacks, or all (-1).
func keep(maxFallbacks int) int {
	if maxFallbacks < 0 {
		return -1
	}
	return maxFallbacks + 1
}

func ratio(v, maxV float64) float64 {
	if maxV <= 0 {
		return 0
	}
	return v / maxV
}

// selection is the first candidate with at most maxFallbacks after it;
// maxFallbacks < 0 means every one.
func selection(ordered []candidate, list []*entry, maxFallbacks int) Selection {
	s := Selection{Model: list[ordered[0].idx].spec}
	rest := ordered[1:]
	if maxFallbacks >= 0 && len(rest) > maxFallbacks {
		rest = rest[:maxFallbacks]
	}
	if len(rest) > 0 {
		s.Fallbacks = make([]task.ModelSpec, len(rest))
		for i, c := range rest {
			s.Fallbacks[i] = list[c.idx].spec
		}
	}
	return s
}
