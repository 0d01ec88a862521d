package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/taskrouter/taskrouter/adapters/openai"
	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/localmodel"
	"github.com/taskrouter/taskrouter/memory"
	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/task"
)

// memoryBench is what memory and the answer cache cost and save: a
// three-step plan over a scripted remote model with 100 ms latency, run
// twice (the second from the cache), and a request in a conversation of
// 1,000 turns (memory in the embedded NATS's key-value store) against the
// same request without one, in alternating rounds.
type memoryBench struct {
	CacheFirstRunMs  float64 `json:"cache_first_run_ms"`
	CacheSecondRunMs float64 `json:"cache_second_run_ms"`
	// CacheRepeatRatio is the second run's time over the first's.
	CacheRepeatRatio float64 `json:"cache_repeat_ratio"`

	MemoryTurns          int     `json:"memory_turns"`
	MemoryRequestP50ms   float64 `json:"memory_request_p50_ms"`
	BaselineRequestP50ms float64 `json:"memory_baseline_request_p50_ms"`
	// MemoryLookupAddedP50ms is the p50 of a request in the conversation
	// less the p50 of the same request without one.
	MemoryLookupAddedP50ms float64 `json:"memory_lookup_added_p50_ms"`
}

// benchUpstreamLatency is the scripted remote model's latency.
const benchUpstreamLatency = 100 * time.Millisecond

func benchMemory(ctx context.Context, n int) (memoryBench, error) {
	var mb memoryBench
	b, err := bus.Start(ctx, bus.Config{Name: "bench-memory"})
	if err != nil {
		return mb, unavailableError{err}
	}
	defer b.Close()
	up := openaitest.New()
	defer up.Close()
	up.Script("remote-1", openaitest.Behaviour{Reply: "a remote answer", Latency: benchUpstreamLatency})
	reg := registry.NewMemory()
	defer reg.Close()
	zero := 0.0
	spec := task.ModelSpec{Name: "bench/remote", Backend: task.BackendOpenAI, BaseURL: up.URL(), UpstreamModel: "remote-1",
		Capabilities: []string{"chat"}, Temperature: &zero, Concurrency: 64}
	remote, err := openai.New(spec, "")
	if err != nil {
		return mb, err
	}
	sum := localmodel.Builtins()[1]
	if err := startBenchExecutor(ctx, b, reg, []executors.Served{{Spec: spec, Model: remote},
		{Spec: sum.Spec, Model: sum.New()},
		{Spec: task.ModelSpec{Name: "bench/noop", Backend: task.BackendLocal, Capabilities: []string{"noop"}, Concurrency: 256}, Model: noop{}}}); err != nil {
		return mb, err
	}
	mem, err := benchMemoryStore(ctx, b)
	if err != nil {
		return mb, err
	}
	nc, err := b.Connect("bench-memory-router")
	if err != nil {
		return mb, err
	}
	r, err := router.New(nc, reg, nil, router.Config{AcceptTimeout: 10 * time.Second, Memory: mem,
		Cache: memory.NewLocalCache(memory.CacheConfig{})})
	if err != nil {
		return mb, err
	}
	defer r.Close()
	if err := benchCacheRepeat(ctx, r, &mb); err != nil {
		return mb, fmt.Errorf("the repeated plan: %w", err)
	}
	if err := benchConversation(ctx, r, mem, n, &mb); err != nil {
		return mb, fmt.Errorf("the conversation of 1,000 turns: %w", err)
	}
	return mb, nil
}

func startBenchExecutor(ctx context.Context, b *bus.Bus, reg registry.Registry, served []executors.Served) error {
	nc, err := b.Connect("bench-memory-executor")
	if err != nil {
		return err
	}
	_, err = executors.Start(ctx, nc, executors.Config{ID: "bench-memory", Announcer: reg, MaxQueue: 1 << 16, Models: served})
	return err
}

func benchMemoryStore(ctx context.Context, b *bus.Bus) (*memory.Memory, error) {
	nc, err := b.Connect("bench-memory-store")
	if err != nil {
		return nil, err
	}
	bucket, err := memory.OpenNATSBucket(ctx, nc, "bench_memory", time.Hour, 1)
	if err != nil {
		return nil, err
	}
	return memory.New(memory.Config{Bucket: bucket})
}

// benchCacheRepeat runs a plan of three chained steps on the remote model
// twice.
func benchCacheRepeat(ctx context.Context, r *router.Router, mb *memoryBench) error {
	plan := task.Plan{Tasks: []task.Subtask{
		{ID: "t1", Capability: "chat", Input: "Outline a trip to Lisbon.", Deps: []string{}},
		{ID: "t2", Capability: "chat", Input: "List what to pack for: {{t1}}", Deps: []string{"t1"}},
		{ID: "t3", Capability: "chat", Input: "Write a checklist from: {{t2}}", Deps: []string{"t2"}},
	}}
	var took [2]time.Duration
	for i := range took {
		start := time.Now()
		resp := r.Run(ctx, task.Request{Input: "plan my trip"}, plan, nil)
		took[i] = time.Since(start)
		if resp.Error != nil {
			return resp.Error
		}
	}
	mb.CacheFirstRunMs, mb.CacheSecondRunMs = ms(took[0]), ms(took[1])
	mb.CacheRepeatRatio = float64(int64(float64(took[1])/float64(took[0])*1e6+0.5)) / 1e6 // far below round3's 0.001
	return nil
}

// benchConversation builds a conversation of 1,000 turns, then measures
// a one-step request in it against the same request without it.
func benchConversation(ctx context.Context, r *router.Router, mem *memory.Memory, n int, mb *memoryBench) error {
	const turns = 1000
	k := memory.Key{Conversation: "bench-1000"}
	for i := 0; i < turns/2; i++ {
		s, err := mem.Open(ctx, k, "")
		if err != nil {
			return err
		}
		err = mem.Record(ctx, s, []memory.Turn{{Role: "user", Content: "Note " + strconv.Itoa(i) + ": the shipment of crates arrived at dock " + strconv.Itoa(i%17) + "."},
			{Role: "assistant", Content: "Noted, dock " + strconv.Itoa(i%17) + "."}})
		if err != nil {
			return err
		}
	}
	off := false
	plan := &task.Plan{Tasks: []task.Subtask{{ID: "t1", Capability: "noop", Input: "Which dock took the crates?", Deps: []string{}}}}
	request := func(conversation string) func() error {
		return func() error {
			resp := r.Handle(ctx, task.Request{Input: "Which dock took the crates?", Plan: plan, Cache: &off, Conversation: conversation}, nil)
			if resp.Error != nil {
				return resp.Error
			}
			return nil
		}
	}
	// The first request folds the 1,000 turns into the summary; the
	// measured ones start from it, as a long conversation does.
	if err := request(k.Conversation)(); err != nil {
		return err
	}
	f, err := measureAll([]func() error{request(""), request(k.Conversation)}, max(n/10, 100), 1)
	if err != nil {
		return err
	}
	mb.MemoryTurns = turns
	mb.BaselineRequestP50ms, mb.MemoryRequestP50ms = round3(f[0].p50/1000), round3(f[1].p50/1000)
	mb.MemoryLookupAddedP50ms = round3((f[1].p50 - f[0].p50) / 1000)
	return nil
}

func ms(d time.Duration) float64 { return round3(float64(d.Microseconds()) / 1000) }

func printMemoryBench(w io.Writer, m memoryBench) {
	fmt.Fprintf(w, "repeated 3-step plan     first %.1f ms, second %.1f ms (from the cache): ratio %.4f (target <= 0.1)\n",
		m.CacheFirstRunMs, m.CacheSecondRunMs, m.CacheRepeatRatio)
	fmt.Fprintf(w, "memory lookup            +%.3f ms p50 in a conversation of %d turns (%.3f ms against %.3f ms without; target < 2)\n",
		m.MemoryLookupAddedP50ms, m.MemoryTurns, m.MemoryRequestP50ms, m.BaselineRequestP50ms)
}
