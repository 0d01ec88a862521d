package registry

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

const (
	benchModels   = 100
	benchReplicas = 10
)

// fillBench announces 100 models that all offer the benchmarked capability,
// the worst case, with ten live replicas each and some history.
func fillBench(b *testing.B, r Registry) {
	ctx := context.Background()
	for i := range benchModels {
		spec := task.ModelSpec{Name: fmt.Sprintf("model-%03d", i), Backend: task.BackendOpenAI,
			Capabilities: []string{"answer", fmt.Sprintf("cap-%d", i%7)}, ContextWindow: 32000, MaxOutputTokens: 2000,
			Price:   task.Price{InputPerMTok: float64(i%10) + 0.5, OutputPerMTok: float64(i%13) + 1},
			Quality: map[string]float64{"answer": float64(i%17) / 17}, Concurrency: 4}
		if err := r.Announce(ctx, spec); err != nil {
			b.Fatal(err)
		}
		for j := range benchReplicas {
			if err := r.Heartbeat(ctx, Replica{Model: spec.Name, ID: fmt.Sprintf("e%d", j), InFlight: (i + j) % 3, Capacity: 4}, time.Hour); err != nil {
				b.Fatal(err)
			}
		}
		r.Started(spec.Name)
		r.Finished(ctx, spec.Name, Outcome{OK: true, Latency: time.Duration(50+i) * time.Millisecond})
	}
}

// benchSelect measures Select and reports its median besides the mean.
func benchSelect(b *testing.B, r Registry) {
	ctx := context.Background()
	q := Query{Capability: "answer", Tokens: 1500}
	if s, err := r.Select(ctx, q); err != nil || len(s.Fallbacks) == 0 {
		b.Fatalf("Select: %d fallbacks, %v", len(s.Fallbacks), err)
	}
	samples := make([]time.Duration, 0, 1<<16)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if _, err := r.Select(ctx, q); err != nil {
			b.Fatal(err)
		}
		if len(samples) < cap(samples) {
			samples = append(samples, time.Since(start))
		}
	}
	b.StopTimer()
	slices.Sort(samples)
	b.ReportMetric(float64(samples[len(samples)/2].Nanoseconds()), "p50-ns")
}

// BenchmarkSelect selects among 100 models of ten replicas each, with the
// default cap of fallbacks and with every candidate as a fallback.
func BenchmarkSelect(b *testing.B) {
	for _, fallbacks := range []struct {
		name string
		n    int
	}{{"fallbacks-8", 0}, {"fallbacks-all", -1}} {
		b.Run("memory/"+fallbacks.name, func(b *testing.B) {
			r := NewMemory(WithMaxFallbacks(fallbacks.n))
			fillBench(b, r)
			benchSelect(b, r)
		})
		b.Run("redis-snapshot/"+fallbacks.name, func(b *testing.B) {
			c := testRedisClient(b)
			r := openTestRedis(b, c, testKeyPrefix(b, c), WithMaxFallbacks(fallbacks.n), WithRefreshInterval(DefaultRefreshInterval))
			fillBench(b, r)
			if _, err := r.Models(context.Background()); err != nil {
				b.Fatal(err)
			}
			benchSelect(b, r)
		})
	}
}

// BenchmarkStartedFinished is the per-dispatch bookkeeping cost.
func BenchmarkStartedFinished(b *testing.B) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		open func(b *testing.B) Registry
	}{
		{"memory", func(*testing.B) Registry { return NewMemory() }},
		{"redis", func(b *testing.B) Registry { c := testRedisClient(b); return openTestRedis(b, c, testKeyPrefix(b, c)) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			r := tc.open(b)
			fillBench(b, r)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r.Started("model-042")
					r.Finished(ctx, "model-042", Outcome{OK: true, Latency: time.Millisecond})
				}
			})
		})
	}
}
