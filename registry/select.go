package registry

import (
	"cmp"
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
	first                        int32 // 2 pinned, 1 preferred local, 0 other
	quality, cost, latency, load float64
	score                        int64
	until                        int64 // cooling down until, unix ns; 0 when available
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
	list := t.byCap[q.Capability]
	cands, why := t.gatherLocked(q, now, list, (*buf)[:0])
	*buf = cands
	if len(cands) == 0 {
		return Selection{}, why.err(t, q)
	}
	ready := partitionReady(cands)
	if len(ready) == 0 {
		return byRecovery(cands, list, now, t.opt.MaxFallbacks), nil
	}
	rank(ready, list, t.opt.weightsFor(policy), keep(t.opt.MaxFallbacks))
	return selection(ready, list, 0, t.opt.MaxFallbacks), nil
}

// gatherLocked appends the models of list that have a live replica, a
// window that fits and a cost within the limit; why tallies the rest.
func (t *table) gatherLocked(q Query, now time.Time, list []*entry, out []candidate) ([]candidate, rejection) {
	why := rejection{withCap: list}
	live := t.liveAt(now)
	for i, e := range list {
		load, ok := e.loadLocked(live)
		if !ok {
			continue
		}
		why.live++
		if !e.spec.Fits(q.Tokens) {
			why.noteWindow(e)
			continue
		}
		why.fits++
		c := candidate{idx: int32(i), quality: e.spec.QualityFor(q.Capability), cost: EstimateCost(e.spec, q.Tokens), load: load}
		if q.Hints.MaxCostUSD > 0 && c.cost > q.Hints.MaxCostUSD {
			why.noteCost(e, c.cost)
			continue
		}
		c.first = firstRank(e, q.Hints)
		e.mu.Lock()
		c.latency = e.ewmaMs
		if until, blocked := e.cd.blockedUntil(now); blocked {
			c.until = until.UnixNano()
		}
		e.mu.Unlock()
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

func firstRank(e *entry, h task.Hints) int32 {
	switch {
	case h.Model != "" && h.Model == e.name:
		return 2
	case h.PreferLocal && e.local:
		return 1
	}
	return 0
}

// partitionReady moves the candidates that are not cooling down to the
// front, keeping their order, and returns them.
func partitionReady(cands []candidate) []candidate {
	n := 0
	for i := range cands {
		if cands[i].until == 0 {
			cands[n], cands[i] = cands[i], cands[n]
			n++
		}
	}
	return cands[:n]
}

// rank scores the candidates under w and puts the best k first, in order
// (all of them when k < 0): pinned, then preferred local, then by score,
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

// byRecovery handles every candidate cooling down: the one that recovers
// first is chosen, with the wait until it does.
func byRecovery(cands []candidate, list []*entry, now time.Time, maxFallbacks int) Selection {
	bestFirst(cands, list, keep(maxFallbacks), earlier)
	wait := max(time.Duration(cands[0].until-now.UnixNano()), 0)
	return selection(cands, list, wait, maxFallbacks)
}

// selection is the first candidate with at most maxFallbacks after it;
// maxFallbacks < 0 means every one.
// earlier orders cooling candidates by when they recover, then by name.
func earlier(a, b *candidate, list []*entry) int {
	if a.until != b.until {
		return cmp.Compare(a.until, b.until)
	}
	return strings.Compare(list[a.idx].name, list[b.idx].name)
}

func selection(ordered []candidate, list []*entry, wait time.Duration, maxFallbacks int) Selection {
	s := Selection{Model: list[ordered[0].idx].spec, Wait: wait}
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
