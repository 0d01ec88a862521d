package pipe

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

func TestQueueKeepsOrderAcrossProducers(t *testing.T) {
	q := NewQueue[int]()
	const producers, each = 4, 1000
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				q.Push(p*each + i)
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	last := map[int]int{}
	got := 0
	var buf []int
	for got < producers*each {
		select {
		case <-q.Ready():
		case <-done:
		}
		items := q.Take(buf)
		for _, v := range items {
			p := v / each
			if prev, ok := last[p]; ok && v <= prev {
				t.Fatalf("producer %d: %d after %d", p, v, prev)
			}
			last[p] = v
		}
		got += len(items)
		buf = items
	}
}

type fakePlanner struct {
	calls int
	err   error
}

func (f *fakePlanner) Plan(context.Context, task.Request) (task.Plan, error) {
	f.calls++
	return task.Plan{Tasks: []task.Subtask{{ID: "t1", Capability: "chat", Input: "x"}}}, f.err
}

func TestPlanFirst(t *testing.T) {
	p := &fakePlanner{}
	req, err := PlanFirst(context.Background(), p, task.Request{Input: "x"})
	if err != nil || req.Plan == nil || len(req.Plan.Tasks) != 1 {
		t.Fatalf("PlanFirst = %+v, %v", req.Plan, err)
	}
	if _, err := PlanFirst(context.Background(), p, req); err != nil || p.calls != 1 {
		t.Fatalf("a planned request was planned again (%d calls)", p.calls)
	}
	if req, _ := PlanFirst(context.Background(), nil, task.Request{Input: "x"}); req.Plan != nil {
		t.Fatal("no planner, yet a plan")
	}
	p.err = errors.New("boom")
	if _, err := PlanFirst(context.Background(), p, task.Request{Input: "x"}); err == nil {
		t.Fatal("the planner's error was lost")
	}
}
