package console

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// streamRequest plays one request whose one step streams pieces of text.
func streamRequest(rec *Recorder, id string, pieces int) {
	plan := &task.Plan{Tasks: []task.Subtask{{ID: "t1", Capability: "chat", Input: "hi", Deps: []string{}}}}
	rec.Observe(task.Event{Type: task.EventPlanned, RequestID: id, Plan: plan, Time: time.Now()})
	rec.Observe(task.Event{Type: task.EventDispatched, RequestID: id, SubtaskID: "t1", Model: "m", Attempt: 1, Time: time.Now()})
	for i := range pieces {
		rec.Observe(task.Event{Type: task.EventProgress, RequestID: id, SubtaskID: "t1", Text: fmt.Sprint(i, " ")})
	}
}

// Requests streaming at once, with a live view reading and watching
// them, each keep their own text, whole and in order.
func TestStreamsAtOnceKeepTheirText(t *testing.T) {
	rec := New(Config{})
	w := rec.Watch()
	defer w.Close()
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		for {
			select {
			case <-stop:
				return
			case <-w.Ready():
				for _, id := range w.Take() {
					rec.Get(id)
				}
				rec.List()
			}
		}
	}()
	const streams, pieces = 32, 200
	var wg sync.WaitGroup
	for i := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			streamRequest(rec, fmt.Sprint("req_", i), pieces)
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	var want strings.Builder
	for i := range pieces {
		fmt.Fprint(&want, i, " ")
	}
	for i := range streams {
		r, ok := rec.Get(fmt.Sprint("req_", i))
		if !ok || len(r.Steps) != 1 || r.Steps[0].Output != want.String() {
			t.Fatalf("req_%d: %v %+v", i, ok, r.Steps)
		}
	}
}

// BenchmarkStreamingRequests is the recorder's cost per streamed piece
// with many requests streaming at once.
func BenchmarkStreamingRequests(b *testing.B) {
	rec := New(Config{})
	var n sync.Mutex
	next := 0
	b.RunParallel(func(pb *testing.PB) {
		n.Lock()
		id := fmt.Sprint("req_", next)
		next++
		n.Unlock()
		streamRequest(rec, id, 0)
		for pb.Next() {
			rec.Observe(task.Event{Type: task.EventProgress, RequestID: id, SubtaskID: "t1", Text: "tok "})
		}
	})
}
