package executors

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/task"
)

// served is one model with its concurrency bound.
type served struct {
	Served
	slots   chan struct{}
	maxWait int

	mu      sync.Mutex
	waiting int
	running int
}

func newServed(m Served, maxQueue int) *served {
	conc := m.Spec.Concurrency
	if conc <= 0 {
		conc = 1
	}
	if maxQueue <= 0 {
		maxQueue = 4 * conc
	}
	return &served{Served: m, slots: make(chan struct{}, conc), maxWait: maxQueue}
}

func (m *served) inFlight() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.waiting + m.running
}

// admit counts a new subtask as waiting, or refuses it when the queue is full.
func (m *served) admit() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.waiting >= m.maxWait && len(m.slots) == cap(m.slots) {
		return false
	}
	m.waiting++
	return true
}

// acquire waits for a slot; it returns false when ctx ends first.
func (m *served) acquire(ctx context.Context) bool {
	select {
	case m.slots <- struct{}{}:
	case <-ctx.Done():
		m.mu.Lock()
		m.waiting--
		m.mu.Unlock()
		return false
	}
	m.mu.Lock()
	m.waiting--
	m.running++
	m.mu.Unlock()
	return true
}

func (m *served) release() {
	m.mu.Lock()
	m.running--
	m.mu.Unlock()
	<-m.slots
}

// onWork handles one dispatched subtask. It runs on the subscription's
// goroutine, so it only decodes, admits and replies "accepted"; the work
// itself runs on a goroutine of its own.
func (e *Executor) onWork(m *served, msg *nats.Msg) {
	if msg.Reply == "" {
		e.cfg.Logger.Warn("dropping a subtask without a reply subject", "subject", msg.Subject)
		return
	}
	var w task.Work
	if err := json.Unmarshal(msg.Data, &w); err != nil {
		e.reply(msg.Reply, task.Reply{Type: task.ReplyError,
			Error: task.Errorf(task.CodeInvalidRequest, "decoding subtask: %v", err)})
		return
	}
	if e.cancel.isCancelled(w.RequestID) {
		e.reply(msg.Reply, task.Reply{Type: task.ReplyError, Error: task.Errorf(task.CodeCancelled, "request %s was cancelled", w.RequestID)})
		return
	}
	if !m.admit() {
		e.reply(msg.Reply, task.Reply{Type: task.ReplyError, Error: &task.Error{Code: task.CodeOverloaded, Retryable: true,
			Message: "executor " + e.cfg.ID + " has no free slot for model " + m.Spec.Name}})
		return
	}
	e.reply(msg.Reply, task.Reply{Type: task.ReplyAccepted})
	e.work.Add(1)
	go e.run(m, msg.Reply, w)
}

func (e *Executor) run(m *served, inbox string, w task.Work) {
	defer e.work.Done()
	ctx, cancel := context.WithCancel(context.Background())
	if !w.Deadline.IsZero() {
		ctx, cancel = context.WithDeadline(context.Background(), w.Deadline)
	}
	defer cancel()
	untrack := e.cancel.track(w.RequestID, w.SubtaskID, cancel)
	defer untrack()

	stopAlive := e.keepAlive(inbox)
	defer stopAlive()
	if !m.acquire(ctx) {
		e.reply(inbox, task.Reply{Type: task.ReplyError, Error: task.AsError(ctx.Err())})
		return
	}
	defer m.release()
	progress := func(delta string) {
		if delta != "" {
			e.reply(inbox, task.Reply{Type: task.ReplyProgress, Delta: delta})
		}
	}
	out, err := m.Model.Generate(ctx, w, progress)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		e.reply(inbox, task.Reply{Type: task.ReplyError, Error: task.AsError(err)})
		return
	}
	e.reply(inbox, task.Reply{Type: task.ReplyResult, Output: &out})
}

// keepAlive sends empty progress messages until the returned func is called.
func (e *Executor) keepAlive(inbox string) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(e.cfg.KeepAlive)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				e.reply(inbox, task.Reply{Type: task.ReplyProgress})
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func (e *Executor) reply(inbox string, r task.Reply) {
	r.Executor = e.cfg.ID
	data, err := json.Marshal(r)
	if err != nil {
		e.cfg.Logger.Error("encoding reply", "err", err)
		return
	}
	if err := e.nc.Publish(inbox, data); err != nil {
		e.cfg.Logger.Debug("publishing reply", "err", err)
	}
}
