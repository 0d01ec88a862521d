package router_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/task"
)

// BenchmarkRunOneSubtask is one-subtask plans through router, NATS,
// executor and back; compare with BenchmarkRawRequestReply.
func BenchmarkRunOneSubtask(b *testing.B) {
	e := newEnv(b, router.Config{AcceptTimeout: 10 * time.Second})
	e.executor("x1", served("m", echo(0, nil), 256, "noop"))
	p := plan(sub("t1", "noop", "x"))
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if resp := e.router.Run(ctx, task.Request{Input: "bench"}, p, nil); resp.Error != nil {
			b.Fatal(resp.Error)
		}
	}
}

func BenchmarkRawRequestReply(b *testing.B) {
	e := newEnv(b, router.Config{})
	a, _ := e.bus.Connect("a")
	c, _ := e.bus.Connect("c")
	if _, err := a.Subscribe("raw", func(m *nats.Msg) { _ = m.Respond([]byte(`{"type":"result"}`)) }); err != nil {
		b.Fatal(err)
	}
	_ = a.Flush()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Request("raw", []byte(`{"input":"x"}`), 10*time.Second); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunOneSubtaskParallel is the throughput case: many concurrent
// one-subtask plans.
func BenchmarkRunOneSubtaskParallel(b *testing.B) {
	e := newEnv(b, router.Config{AcceptTimeout: 10 * time.Second})
	e.executor("x1", served("m", echo(0, nil), 256, "noop"))
	p := plan(sub("t1", "noop", "x"))
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if resp := e.router.Run(ctx, task.Request{Input: "bench"}, p, nil); resp.Error != nil {
				b.Error(resp.Error)
				return
			}
		}
	})
}

func BenchmarkRawRequestReplyParallel(b *testing.B) {
	e := newEnv(b, router.Config{})
	a, _ := e.bus.Connect("a")
	c, _ := e.bus.Connect("c")
	if _, err := a.Subscribe("raw", func(m *nats.Msg) { _ = m.Respond([]byte(`{"type":"result"}`)) }); err != nil {
		b.Fatal(err)
	}
	_ = a.Flush()
	b.ReportAllocs()
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Request("raw", []byte(`{"input":"x"}`), 10*time.Second); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
