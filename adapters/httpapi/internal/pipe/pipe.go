// Package pipe connects the router to the job workers that consume its
// events, and plans requests ahead for the HTTP handlers: a job's events
// are stored and fanned out, which must not hold up the router's
// callback, so the worker sees them in order on its own goroutine. (A
// chat stream writes to its client from the callback itself.)
package pipe

import (
	"context"
	"sync"

	"github.com/taskrouter/taskrouter/task"
)

// Queue is an unbounded FIFO from any number of producers to one consumer.
// Push never blocks; the consumer waits on Ready and then Takes everything
// queued. Its memory is bounded by what the producer sends, which for a
// request is its events and the text of its answer.
type Queue[T any] struct {
	mu    sync.Mutex
	items []T
	ready chan struct{}
}

// NewQueue returns an empty queue.
func NewQueue[T any]() *Queue[T] { return &Queue[T]{ready: make(chan struct{}, 1)} }

// Push appends v and wakes the consumer.
func (q *Queue[T]) Push(v T) {
	q.mu.Lock()
	q.items = append(q.items, v)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// Ready is signalled after a Push; one signal may stand for many items.
func (q *Queue[T]) Ready() <-chan struct{} { return q.ready }

// Take returns everything queued, oldest first, reusing buf's storage for
// the next round.
func (q *Queue[T]) Take(buf []T) []T {
	q.mu.Lock()
	items := q.items
	q.items = buf[:0]
	q.mu.Unlock()
	return items
}

// Runner runs a request and reports its events, as the router does.
type Runner interface {
	Handle(ctx context.Context, req task.Request, onEvent func(task.Event)) task.Response
}

// Planner plans a request, as the router's planner does.
type Planner interface {
	Plan(ctx context.Context, req task.Request) (task.Plan, error)
}

// PlanFirst plans a request that has no plan yet, so that its consumer
// knows the plan before the run starts (to stream a one-subtask plan's
// text as it comes, or to show a job's plan while it runs). With no
// planner it returns the request unchanged and the router plans.
func PlanFirst(ctx context.Context, p Planner, req task.Request) (task.Request, error) {
	if req.Plan != nil || p == nil {
		return req, nil
	}
	plan, err := p.Plan(ctx, req)
	if err != nil {
		return req, err
	}
	req.Plan = &plan
	return req, nil
}

// Start runs req on its own goroutine, queueing its events; the response
// arrives on the returned channel once the run is over.
func Start(ctx context.Context, r Runner, req task.Request) (*Queue[task.Event], <-chan task.Response) {
	q := NewQueue[task.Event]()
	done := make(chan task.Response, 1)
	go func() { done <- r.Handle(ctx, req, q.Push) }()
	return q, done
}
