package executors

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/task"
)

// served is one model with its concurrency bound: up to Concurrency
// workers take subtasks from a queue of at most MaxQueue waiting ones.
// Workers start when work finds none idle and leave after workerIdle
// without work, so a busy model costs no goroutine start per subtask and
// an idle one with a concurrency of thousands holds no stacks.
type served struct {
	Served
	queue   chan *job
	workers int // the most that may run at once
	running atomic.Int64
	spawned atomic.Int64 // workers alive
	idle    atomic.Int64 // workers waiting for work
}

// workerIdle is how long a worker waits for work before it leaves.
const workerIdle = 10 * time.Second

// job is one admitted subtask, cancellable from the moment it is accepted.
type job struct {
	w       task.Work
	inbox   string
	ctx     context.Context
	cancel  context.CancelFunc
	untrack func()
}

func newServed(m Served, maxQueue int) *served {
	conc := m.Spec.Concurrency
	if conc <= 0 {
		conc = 1
	}
	if maxQueue <= 0 {
		maxQueue = 4 * conc
	}
	return &served{Served: m, queue: make(chan *job, maxQueue), workers: conc}
}

func (m *served) inFlight() int { return len(m.queue) + int(m.running.Load()) }

// onWork handles one dispatched subtask. It runs on the subscription's
// goroutine, so it only decodes, admits and replies "accepted"; a worker
// runs the subtask.
func (e *Executor) onWork(m *served, msg *nats.Msg) {
	if msg.Reply == "" {
		e.cfg.Logger.Warn("dropping a subtask without a reply subject", "subject", msg.Subject)
		return
	}
	w, err := decodeWork(msg.Data)
	if err != nil {
		e.reply(msg.Reply, task.Reply{Type: task.ReplyError,
			Error: task.Errorf(task.CodeInvalidRequest, "decoding subtask: %v", err)})
		return
	}
	// Only this goroutine adds to the queue and workers only take from it,
	// so a free place seen here is still free below.
	if len(m.queue) == cap(m.queue) {
		e.reply(msg.Reply, task.Reply{Type: task.ReplyError, Error: &task.Error{Code: task.CodeOverloaded, Retryable: true,
			Message: "executor " + e.cfg.ID + " has no free slot for model " + m.Spec.Name}})
		return
	}
	j := &job{w: w, inbox: msg.Reply}
	j.ctx, j.cancel = context.WithCancel(context.Background())
	if !w.Deadline.IsZero() {
		j.ctx, j.cancel = context.WithDeadline(context.Background(), w.Deadline)
	}
	untrack, ok := e.cancel.track(w.RequestID, w.SubtaskID, w.Attempt, msg.Reply, j.cancel)
	if !ok {
		j.cancel()
		e.reply(msg.Reply, task.Reply{Type: task.ReplyError, Error: task.Errorf(task.CodeCancelled, "request %s was cancelled", w.RequestID)})
		return
	}
	j.untrack = untrack
	e.work.Add(1)
	// "accepted" goes out before a worker can send anything else.
	e.publish(msg.Reply, e.accepted)
	m.queue <- j
	e.ensureWorker(m)
}

// ensureWorker starts a worker when none is idle and fewer than the
// model's concurrency are alive, so a queued subtask always has a taker.
func (e *Executor) ensureWorker(m *served) {
	for m.idle.Load() == 0 {
		select {
		case <-e.quit:
			return // stopping: refuseQueued answers what is left
		default:
		}
		n := m.spawned.Load()
		if n >= int64(m.workers) {
			return
		}
		if m.spawned.CompareAndSwap(n, n+1) {
			e.workers.Add(1)
			go e.serve(m)
			return
		}
	}
}

// serve is one worker of a model: it runs queued subtasks until it has
// been idle for workerIdle, or until quit.
func (e *Executor) serve(m *served) {
	defer e.workers.Done()
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		m.idle.Add(1)
		select {
		case j := <-m.queue:
			m.idle.Add(-1)
			e.run(m, j)
			idle.Reset(workerIdle)
		case <-idle.C:
			m.idle.Add(-1)
			m.spawned.Add(-1)
			// Work queued while this worker was leaving may have seen it
			// idle and started no one: then it stays.
			if len(m.queue) == 0 || !m.rejoin() {
				return
			}
			idle.Reset(workerIdle)
		case <-e.quit:
			m.idle.Add(-1)
			m.spawned.Add(-1)
			return
		}
	}
}

// rejoin counts a leaving worker back in, unless the model is at its limit.
func (m *served) rejoin() bool {
	for {
		n := m.spawned.Load()
		if n >= int64(m.workers) {
			return false
		}
		if m.spawned.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// refuseQueued answers every subtask still queued after the workers quit,
// so the router retries them elsewhere at once.
func (e *Executor) refuseQueued(m *served) {
	for {
		select {
		case j := <-m.queue:
			e.finish(j, task.Reply{Type: task.ReplyError, Error: task.Errorf(task.CodeUnavailable,
				"executor %s stopped before running the subtask", e.cfg.ID)})
		default:
			return
		}
	}
}

func (e *Executor) finish(j *job, r task.Reply) {
	j.untrack()
	j.cancel()
	e.reply(j.inbox, r)
	e.work.Done()
}

func (e *Executor) run(m *served, j *job) {
	if err := j.ctx.Err(); err != nil {
		e.finish(j, task.Reply{Type: task.ReplyError, Error: task.AsError(err)})
		return
	}
	m.running.Add(1)
	defer m.running.Add(-1)
	var progress func(string)
	if j.w.Stream {
		progress = func(delta string) {
			if delta != "" {
				e.reply(j.inbox, task.Reply{Type: task.ReplyProgress, Delta: delta})
			}
		}
	}
	ctx, obs := e.observe(j.ctx, &j.w)
	out, err := m.Model.Generate(ctx, j.w, progress)
	if err == nil && j.ctx.Err() != nil {
		err = j.ctx.Err()
	}
	obs.end(out, err)
	if err != nil {
		e.finish(j, task.Reply{Type: task.ReplyError, Error: task.AsError(err)})
		return
	}
	e.finish(j, task.Reply{Type: task.ReplyResult, Output: &out})
}

// keepAlives sends an empty progress message to every running subtask's
// inbox each KeepAlive interval, from one goroutine for all of them, until
// Stop.
func (e *Executor) keepAlives() {
	defer close(e.kaDone)
	t := time.NewTicker(e.cfg.KeepAlive)
	defer t.Stop()
	var inboxes []string
	for {
		select {
		case <-e.hbStop:
			return
		case <-t.C:
			inboxes = e.cancel.inboxes(inboxes[:0])
			for _, inbox := range inboxes {
				e.publish(inbox, e.keepAlive)
			}
		}
	}
}

func (e *Executor) reply(inbox string, r task.Reply) {
	r.Executor = e.cfg.ID
	data, err := json.Marshal(r)
	if err != nil {
		e.cfg.Logger.Error("encoding reply", "err", err)
		return
	}
	e.publish(inbox, data)
}

func (e *Executor) publish(inbox string, data []byte) {
	if err := e.nc.Publish(inbox, data); err != nil {
		e.cfg.Logger.Debug("publishing reply", "err", err)
	}
}
