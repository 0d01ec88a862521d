package kv

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/task"
)

// stores returns every backend, fresh, with the given TTL.
func stores(t *testing.T, ttl time.Duration) map[string]Store {
	t.Helper()
	b, err := bus.Start(context.Background(), bus.Config{Name: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	nc, err := b.Connect("kv")
	if err != nil {
		t.Fatal(err)
	}
	js, err := OpenJetStream(context.Background(), nc, "test_kv", ttl)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]Store{"memory": NewMemory(ttl), "jetstream": js}
}

func TestConformance(t *testing.T) {
	ctx := context.Background()
	for name, s := range stores(t, time.Hour) {
		t.Run(name, func(t *testing.T) {
			if _, _, err := s.Get(ctx, "a"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get of a missing key = %v", err)
			}
			r1, err := s.Create(ctx, "a", []byte("1"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Create(ctx, "a", []byte("2")); !errors.Is(err, ErrExists) {
				t.Fatalf("second Create = %v, want ErrExists", err)
			}
			r2, err := s.Update(ctx, "a", []byte("2"), r1)
			if err != nil || r2 <= r1 {
				t.Fatalf("Update = %d, %v", r2, err)
			}
			if _, err := s.Update(ctx, "a", []byte("3"), r1); !errors.Is(err, ErrConflict) {
				t.Fatalf("stale Update = %v, want ErrConflict", err)
			}
			if _, err := s.Put(ctx, "a", []byte("4")); err != nil {
				t.Fatal(err)
			}
			v, _, err := s.Get(ctx, "a")
			if err != nil || string(v) != "4" {
				t.Fatalf("Get = %q, %v", v, err)
			}
			if err := s.Delete(ctx, "a"); err != nil {
				t.Fatal(err)
			}
			if err := s.Delete(ctx, "never"); err != nil {
				t.Fatalf("Delete of a missing key = %v", err)
			}
			if _, _, err := s.Get(ctx, "a"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get after Delete = %v", err)
			}
			if _, err := s.Create(ctx, "a", []byte("5")); err != nil {
				t.Fatalf("Create after Delete = %v", err)
			}
		})
	}
}

// Exactly one of many concurrent Creates of one key wins, on every backend.
func TestCreateIsExclusive(t *testing.T) {
	for name, s := range stores(t, time.Hour) {
		t.Run(name, func(t *testing.T) {
			for round := range 5 {
				key := fmt.Sprintf("k%d", round)
				var wins atomic.Int32
				var wg sync.WaitGroup
				for range 16 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if _, err := s.Create(context.Background(), key, []byte("x")); err == nil {
							wins.Add(1)
						} else if !errors.Is(err, ErrExists) {
							t.Error(err)
						}
					}()
				}
				wg.Wait()
				if wins.Load() != 1 {
					t.Fatalf("%d Creates of %s won", wins.Load(), key)
				}
			}
		})
	}
}

func TestMemoryExpires(t *testing.T) {
	m := NewMemory(time.Minute)
	now := time.Unix(1000, 0)
	m.now = func() time.Time { return now }
	ctx := context.Background()
	if _, err := m.Create(ctx, "a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	now = now.Add(59 * time.Second)
	if _, _, err := m.Get(ctx, "a"); err != nil {
		t.Fatalf("expired early: %v", err)
	}
	now = now.Add(time.Second)
	if _, _, err := m.Get(ctx, "a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after the TTL = %v", err)
	}
	if _, err := m.Create(ctx, "a", []byte("2")); err != nil {
		t.Fatalf("Create after expiry = %v", err)
	}
	_, _ = m.Put(ctx, "b", nil)
	now = now.Add(2 * time.Minute)
	if n := m.Len(); n != 0 {
		t.Fatalf("%d entries left after expiry", n)
	}
}

// Keys lists exactly the live keys: none at first, then what was written,
// without what was deleted.
func TestKeys(t *testing.T) {
	ctx := context.Background()
	for name, s := range stores(t, time.Hour) {
		t.Run(name, func(t *testing.T) {
			keys, err := s.Keys(ctx)
			if err != nil || len(keys) != 0 {
				t.Fatalf("Keys of an empty store = %v, %v", keys, err)
			}
			for _, k := range []string{"job_a", "job_b", "lease.x"} {
				if _, err := s.Put(ctx, k, []byte("v")); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.Put(ctx, "job_a", []byte("again")); err != nil {
				t.Fatal(err)
			}
			if err := s.Delete(ctx, "job_b"); err != nil {
				t.Fatal(err)
			}
			keys, err = s.Keys(ctx)
			slices.Sort(keys)
			if err != nil || !slices.Equal(keys, []string{"job_a", "lease.x"}) {
				t.Fatalf("Keys = %v, %v", keys, err)
			}
		})
	}
}

// A value over the NATS server's max_payload is refused before it is sent,
// with the sizes, and nothing is written.
func TestJetStreamRefusesValuesOverMaxPayload(t *testing.T) {
	ctx := context.Background()
	js, ok := stores(t, time.Hour)["jetstream"].(*JetStream)
	if !ok {
		t.Fatal("no JetStream store")
	}
	if js.max < 1<<20 {
		t.Fatalf("room for %d bytes, want the embedded server's max_payload less the headers", js.max)
	}
	big := make([]byte, js.max+1)
	_, errCreate := js.Create(ctx, "a", big)
	_, errPut := js.Put(ctx, "a", big)
	rev, _ := js.Create(ctx, "b", []byte("1"))
	_, errUpdate := js.Update(ctx, "b", big, rev)
	for _, err := range []error{errCreate, errPut, errUpdate} {
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), fmt.Sprint(len(big))) {
			t.Fatalf("write of %d bytes = %v, want ErrTooLarge naming the size", len(big), err)
		}
	}
	if _, _, err := js.Get(ctx, "a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a refused value was written: %v", err)
	}
	if _, err := js.Put(ctx, "a", big[:js.max]); err != nil {
		t.Fatalf("a value of exactly the room left: %v", err)
	}
}

// While NATS is away the store says so at once, as unavailable with a
// wait, instead of leaving the caller to wait out its deadline.
func TestJetStreamWhileNATSIsAwayIsUnavailable(t *testing.T) {
	ctx := context.Background()
	server, err := bus.Start(ctx, bus.Config{Name: "server", Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	client, err := bus.Start(ctx, bus.Config{URL: server.ClientURL()})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	nc, err := client.Connect("kv")
	if err != nil {
		t.Fatal(err)
	}
	js, err := OpenJetStream(ctx, nc, "away", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_ = server.Close()
	for deadline := time.Now().Add(30 * time.Second); nc.Status() == nats.CONNECTED; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the connection never noticed the server was gone")
		}
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute) // only so a hang fails the test
	defer cancel()
	_, err = js.Put(ctx, "k", []byte("v"))
	if !errors.Is(err, ErrUnavailable) || ctx.Err() != nil {
		t.Fatalf("Put: %v, want ErrUnavailable before the deadline", err)
	}
	if e := task.AsError(err); e.Code != task.CodeUnavailable || e.RetryAfterMs <= 0 {
		t.Fatalf("Put: %+v, want unavailable with a wait", e)
	}
	if _, _, err := js.Get(ctx, "k"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Get: %v", err)
	}
}

// A bucket whose stream has no leader (its servers are electing one, as a
// NATS cluster does after losing a server) is unavailable, retryable, not
// an internal error: clients of the jobs API get a 503 with Retry-After.
func TestJetStreamWithoutAStreamLeaderIsUnavailable(t *testing.T) {
	ctx := context.Background()
	b, err := bus.Start(ctx, bus.Config{Name: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	nc, err := b.Connect("kv")
	if err != nil {
		t.Fatal(err)
	}
	store, err := OpenJetStream(ctx, nc, "leaderless", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	if err := js.DeleteKeyValue(ctx, "leaderless"); err != nil { // nothing answers on its subjects now
		t.Fatal(err)
	}
	_, err = store.Put(ctx, "k", []byte("v"))
	if e := task.AsError(err); !errors.Is(err, ErrUnavailable) || e.Code != task.CodeUnavailable || e.RetryAfterMs <= 0 {
		t.Fatalf("Put without a stream: %v (%+v), want unavailable with a wait", err, e)
	}
}
