package registry

import (
	"context"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// A replica that answers a dispatch is alive, whatever its heartbeats
// say: on a starved machine they come late, and the model must not look
// dead while it is answering. An answer from a replica nobody registered,
// or long gone, brings nothing back.
func TestAnswerKeepsAReplicaAlive(t *testing.T) {
	now := time.Unix(1000, 0)
	r := NewMemory(WithClock(func() time.Time { return now }))
	ctx := context.Background()
	spec := task.ModelSpec{Name: "m", Backend: task.BackendLocal, Capabilities: []string{"calc"}}
	if err := r.Announce(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if err := r.Heartbeat(ctx, Replica{Model: "m", ID: "e1", Capacity: 1}, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	answer := func(id string) {
		if err := r.Started("m"); err != nil {
			t.Fatal(err)
		}
		r.Finished(ctx, "m", Outcome{OK: true, Latency: time.Millisecond, Replica: id})
	}
	now = now.Add(2500 * time.Millisecond) // a heartbeat is late
	answer("e1")
	now = now.Add(2 * time.Second) // past the last heartbeat's 3 s
	if n := r.LiveReplicas("m"); n != 1 {
		t.Fatalf("%d live replicas after an answer, want 1", n)
	}
	answer("stranger")
	now = now.Add(10 * time.Second)
	answer("e1") // its registration ran out long ago
	if n := r.LiveReplicas("m"); n != 0 {
		t.Fatalf("%d live replicas, want 0: answers revived a long-gone or unknown replica", n)
	}
}
