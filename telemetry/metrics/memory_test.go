package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestMemoryAndCacheMetrics(t *testing.T) {
	m := New()
	m.CacheLookup("summarize", true)
	m.CacheLookup("summarize", true)
	m.CacheLookup("summarize", false)
	m.MemoryAdded(120)
	m.MemoryOpened(time.Millisecond, 2)
	m.Summarized(true)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`taskrouter_cache_lookups_total{capability="summarize",result="hit"} 2`,
		`taskrouter_cache_lookups_total{capability="summarize",result="miss"} 1`,
		`taskrouter_memory_tokens_total 120`,
		`taskrouter_memory_recalled_turns_total 2`,
		`taskrouter_memory_summaries_total{status="done"} 1`,
		`taskrouter_memory_lookup_seconds_count 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
