package metrics

import (
	"sync"
	"sync/atomic"
	"testing"
)

// Goroutines asking for series at once each get the one series of a key,
// made once, and every key keeps its own.
func TestSeriesMapMakesEachSeriesOnce(t *testing.T) {
	var s seriesMap[string, *int]
	var made atomic.Int32
	keys := []string{"a", "b", "c", "d"}
	var wg sync.WaitGroup
	got := make([][]*int, 16)
	for g := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, k := range keys {
				got[g] = append(got[g], s.get(k, func() *int { made.Add(1); return new(int) }))
			}
		}()
	}
	wg.Wait()
	if n := made.Load(); n != int32(len(keys)) {
		t.Fatalf("%d series made for %d keys", n, len(keys))
	}
	for g := range got {
		for i := range keys {
			if got[g][i] != got[0][i] || i > 0 && got[g][i] == got[g][i-1] {
				t.Fatalf("goroutine %d got series %v, goroutine 0 %v", g, got[g], got[0])
			}
		}
	}
}
