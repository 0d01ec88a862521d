package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// memoryFamilies are the families of conversations' memory and the
// answer cache.
type memoryFamilies struct {
	cacheLookups *prometheus.CounterVec
	memoryTokens prometheus.Counter
	opened       prometheus.Histogram
	recalled     prometheus.Counter
	summaries    *prometheus.CounterVec

	cacheS seriesMap[cacheKey, prometheus.Counter]
}

type cacheKey struct {
	capability string
	hit        bool
}

// MemoryBuckets spans a lookup in a process's cache to one that reads
// a long conversation from a remote Redis.
var MemoryBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25}

func (m *Metrics) registerMemory() {
	f := &m.mem
	f.cacheLookups = counterVec("cache_lookups_total", "Steps looked up in the cache of deterministic answers, by capability and result (hit, miss).",
		"capability", "result")
	f.memoryTokens = prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "memory_tokens_total",
		Help: "Tokens a conversation's memory (summary, recent and recalled turns) added to the prompts of dispatched steps."})
	f.opened = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "memory_lookup_seconds",
		Help: "Time to read a conversation's memory for a request: its record, recent turns and index.", Buckets: MemoryBuckets})
	f.recalled = prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "memory_recalled_turns_total",
		Help: "Earlier turns recalled into requests' context."})
	f.summaries = counterVec("memory_summaries_total", "Folds of older turns into a conversation's rolling summary, by status (done, failed).", "status")
	m.reg.MustRegister(f.cacheLookups, f.memoryTokens, f.opened, f.recalled, f.summaries)
}

// CacheLookup implements router.MemoryMetrics.
func (m *Metrics) CacheLookup(capability string, hit bool) {
	f := &m.mem
	f.cacheS.get(cacheKey{capability, hit}, func() prometheus.Counter {
		result := "miss"
		if hit {
			result = "hit"
		}
		return f.cacheLookups.WithLabelValues(capability, result)
	}).Inc()
}

// MemoryAdded implements router.MemoryMetrics.
func (m *Metrics) MemoryAdded(tokens int) { m.mem.memoryTokens.Add(float64(tokens)) }

// MemoryOpened implements router.MemoryMetrics.
func (m *Metrics) MemoryOpened(took time.Duration, recalled int) {
	m.mem.opened.Observe(took.Seconds())
	m.mem.recalled.Add(float64(recalled))
}

// Summarized implements router.MemoryMetrics.
func (m *Metrics) Summarized(ok bool) {
	status := "done"
	if !ok {
		status = "failed"
	}
	m.mem.summaries.WithLabelValues(status).Inc()
}
