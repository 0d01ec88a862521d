package executors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/task"
)

// served is one model with its concurrency bound: up to Concurrency
// workers take subtasks from a queue of at most MaxQueue waiting ones.
// Workers start when work finds none idle and leave after workerIdle
// without work, so a busy model costs no goroutine start per subtask and
// an idle one with a concurrency of thousands holds no stacks.
//
// A queued subtask that no worker took within QueueWait is answered
// overloaded by its own timer and left in the queue, where the next worker
// passes over it. Until then it still holds its place: only when every
// worker has been busy for longer than QueueWait can such places fill the
// queue, and new subtasks are then refused at once, as they would only
// wait out QueueWait too.
type served struct {
	Served
	queue   chan *job
	workers int           // the most that may run at once
	wait    time.Duration // the longest a subtask waits for a worker
	queued  atomic.Int64  // subtasks waiting: neither taken nor expired
	running atomic.Int64
	spawned atomic.Int64 // workers alive
	idle    atomic.Int64 // workers waiting for work
	// runNs is a moving average of how long a subtask runs, from which
	// the wait a refused one is told to retry after is estimated.
	runNs atomic.Int64
	// stats counts the model's answered subtasks, for $SRV.STATS.
	stats *bus.Endpoint
}

// workerIdle is how long a worker waits for work before it leaves.
const workerIdle = 10 * time.Second

// The states of a queued job: the first of a worker (taken) and its
// expiry timer (expired) to move it out of jobQueued answers it.
const (
	jobQueued int32 = iota
	jobTaken
	jobExpired
)

// job is one admitted subtask, cancellable from the moment it is accepted.
type job struct {
	w        task.Work
	received time.Time
	stats    *bus.Endpoint
	inbox    string
	ctx      context.Context
	cancel   context.CancelFunc
	running  runningWork
	state    atomic.Int32
	expiry   *time.Timer
	acceptance
}

// acceptance is whether a job's "accepted" was sent, or its answer went
// without one. The lock keeps "accepted" ahead of the job's own replies:
// one that finds it pending sends it first, or, the answer, takes its
// place. (An executor's keep-alive, sent to every job it holds, may come
// before it in the job's first millisecond; routers take either order.)
type acceptance struct {
	mu       sync.Mutex
	accepted atomic.Int32
}

// The states of a job's acceptance.
const (
	acceptPending int32 = iota
	acceptSent
	acceptSkipped // the answer went first and says it was accepted
)

func newServed(m Served, maxQueue int, wait time.Duration) *served {
	conc := m.Spec.Concurrency
	if conc <= 0 {
		conc = 1
	}
	return &served{Served: m, queue: make(chan *job, maxQueue), workers: conc, wait: wait}
}

func (m *served) inFlight() int { return int(m.queued.Load() + m.running.Load()) }

// onWork handles one dispatched subtask. It runs on the subscription's
// goroutine, so it only decodes, admits and replies "accepted"; a worker
// runs the subtask.
func (e *Executor) onWork(m *served, msg *nats.Msg) {
	if msg.Reply == "" {
		e.cfg.Logger.Warn("dropping a subtask without a reply subject", "subject", msg.Subject)
		return
	}
	received := time.Now()
	w, err := decodeWork(msg.Data)
	if err != nil {
		e.refuse(m, msg.Reply, task.Errorf(task.CodeInvalidRequest, "decoding subtask: %v", err))
		return
	}
	// Only this goroutine adds to the queue and workers only take from it,
	// so a free place seen here is still free below.
	if len(m.queue) == cap(m.queue) {
		e.refuse(m, msg.Reply, e.overloaded(m,
			fmt.Sprintf("its queue of %d subtasks waiting for a free slot is full", cap(m.queue))))
		return
	}
	j := &job{w: w, inbox: msg.Reply, received: received, stats: m.stats}
	if w.Deadline.IsZero() {
		j.ctx, j.cancel = context.WithCancel(context.Background())
	} else {
		j.ctx, j.cancel = context.WithDeadline(context.Background(), w.Deadline)
	}
	j.running = runningWork{request: w.RequestID, subtask: w.SubtaskID, attempt: w.Attempt, inbox: msg.Reply, cancel: j.cancel}
	if !e.cancel.track(&j.running) {
		j.cancel()
		e.refuse(m, msg.Reply, task.Errorf(task.CodeCancelled, "request %s, or this attempt of subtask %s, was cancelled", w.RequestID, w.SubtaskID))
		return
	}
	e.work.Add(1)
	m.queued.Add(1)
	if m.Spec.Backend == task.BackendLocal {
		// A built-in model often answers within task.AcceptWithin: its
		// answer may go alone.
		e.accepts.add(e, j)
	} else {
		// A remote model's or a tool's call takes longer: "accepted" goes
		// at once, and tells whoever follows the work that it runs.
		e.accept(j)
	}
	j.expiry = time.AfterFunc(m.wait, func() { e.expire(m, j) })
	m.queue <- j
	e.ensureWorker(m)
	select {
	case <-e.quit:
		// Stopping: Stop answers what is queued once its workers are
		// gone, but this subtask, whose message was being handed over,
		// may have come after that.
		e.refuseQueued(m)
	default:
	}
}

// accept sends j's "accepted" unless it was sent, or j's answer went.
// Every reply but the answer calls it first.
func (e *Executor) accept(j *job) {
	if j.accepted.Load() != acceptPending {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.accepted.Load() == acceptPending {
		e.reply(j.inbox, task.Reply{Type: task.ReplyAccepted, ElapsedUs: elapsedUs(j.received)})
		j.accepted.Store(acceptSent)
	}
}

// skipAccept marks j's "accepted" as not to be sent, when it was not yet,
// because j's answer goes now and says since when j was accepted; it
// returns how long ago that was, or 0 when "accepted" went already.
func (j *job) skipAccept() int64 {
	if j.accepted.Load() != acceptPending {
		return 0
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.accepted.Load() != acceptPending {
		return 0
	}
	j.accepted.Store(acceptSkipped)
	return elapsedUs(j.received)
}

// elapsedUs is the microseconds since t, at least 1: a reply's ElapsedUs
// of 0 would read as unset.
func elapsedUs(t time.Time) int64 { return max(time.Since(t).Microseconds(), 1) }

// take claims a queued job for a worker; false means its wait expired and
// it was answered already.
func (m *served) take(j *job) bool {
	if !j.state.CompareAndSwap(jobQueued, jobTaken) {
		return false
	}
	j.expiry.Stop()
	m.queued.Add(-1)
	return true
}

// expire answers a job that waited QueueWait for a worker, unless one took
// it first.
func (e *Executor) expire(m *served, j *job) {
	if !j.state.CompareAndSwap(jobQueued, jobExpired) {
		return
	}
	m.queued.Add(-1)
	err := e.overloaded(m, fmt.Sprintf("the subtask waited %s for a free slot", m.wait))
	if j.ctx.Err() != nil {
		err = task.AsError(j.ctx.Err()) // cancelled or past its deadline while waiting
	}
	e.finish(j, task.Reply{Type: task.ReplyError, Error: err})
}

// ensureWorker starts a worker when none is idle and fewer than the
// model's concurrency are alive, so a queued subtask always has a taker.
func (e *Executor) ensureWorker(m *served) {
	for m.idle.Load() == 0 {
		n := m.spawned.Load()
		if n >= int64(m.workers) {
			return
		}
		if m.spawned.CompareAndSwap(n, n+1) {
			if !e.startWorker(m) {
				m.spawned.Add(-1)
			}
			return
		}
	}
}

// startWorker starts a worker of m, unless the executor is stopping:
// then refuseQueued answers what is left. Stop closes quit under the same
// lock before it waits for the workers, so a worker counted is one it
// waits for.
func (e *Executor) startWorker(m *served) bool {
	e.spawnMu.Lock()
	defer e.spawnMu.Unlock()
	select {
	case <-e.quit:
		return false
	default:
	}
	e.workers.Add(1)
	go e.serve(m)
	return true
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
			if m.take(j) {
				e.run(m, j)
			}
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
			if m.take(j) {
				e.finish(j, task.Reply{Type: task.ReplyError, Error: task.Errorf(task.CodeUnavailable,
					"executor %s stopped before running the subtask", e.cfg.ID)})
			}
		default:
			return
		}
	}
}

func (e *Executor) finish(j *job, r task.Reply) {
	e.answer(j, r)
	e.settle(j, r)
}

// answer sends a job's last reply, in place of "accepted" when that was
// not sent yet.
func (e *Executor) answer(j *job, r task.Reply) {
	e.cancel.untrack(&j.running)
	j.cancel()
	r.ElapsedUs = j.skipAccept()
	e.reply(j.inbox, r)
}

// settle records a job that was answered with r, as done work.
func (e *Executor) settle(j *job, r task.Reply) {
	j.stats.Record(time.Since(j.received), failure(r.Error))
	e.work.Done()
}

// refuse answers a subtask that was never admitted.
func (e *Executor) refuse(m *served, inbox string, err *task.Error) {
	e.reply(inbox, task.Reply{Type: task.ReplyError, Error: err})
	m.stats.Record(0, failure(err))
}

func (e *Executor) run(m *served, j *job) {
	if err := j.ctx.Err(); err != nil {
		e.finish(j, task.Reply{Type: task.ReplyError, Error: task.AsError(err)})
		return
	}
	m.running.Add(1)
	defer m.running.Add(-1)
	defer m.recordRun(time.Now())
	ctx, obs := e.observe(j.ctx, &j.w)
	out, err := e.generate(ctx, m, j)
	e.conclude(j, obs, &out, err)
}

// conclude answers a job whose model returned out and err, and records
// it. Apart from run, whose frame a worker holds while its model runs.
func (e *Executor) conclude(j *job, obs *observation, out *task.Output, err error) {
	if err == nil && j.ctx.Err() != nil {
		err = j.ctx.Err()
	}
	// The router waits for the reply, not for the span and the metrics:
	// they are recorded after it, stamped with the time the work ended.
	ended := time.Now()
	r := task.Reply{Type: task.ReplyResult, Output: out}
	if err != nil {
		r = task.Reply{Type: task.ReplyError, Error: task.AsError(err)}
	}
	e.answer(j, r)
	obs.end(*out, err, ended)
	e.settle(j, r)
}

// generate runs a job's work on its model: a Work with a Body goes to a
// model that relays it when the model can, with every upstream chunk
// forwarded as it comes when someone follows the work; another model gets
// the work unpacked, as it would have come without a body.
//
// The work goes by pointer, and unpacking it has a function of its own:
// a relayed stream is read below this frame for as long as it lasts, and
// copies of the work would sit in it (a worker's stack then fits 8 KB).
func (e *Executor) generate(ctx context.Context, m *served, j *job) (task.Output, error) {
	if am, ok := m.Model.(ArtifactModel); ok && len(j.w.Body) > 0 && task.IsMediaAPI(j.w.API) {
		// A media API's body: its files come from the store, and what
		// the upstream makes goes there.
		return e.generateArtifacts(ctx, am, &j.w, nil)
	}
	if r, ok := m.Model.(Relayer); ok && len(j.w.Body) > 0 {
		var chunk func([]byte, string)
		if j.w.Stream {
			chunk = func(raw []byte, delta string) {
				e.accept(j)
				e.reply(j.inbox, task.Reply{Type: task.ReplyProgress, Delta: delta, Chunk: raw})
			}
		}
		return r.Relay(ctx, &j.w, chunk)
	}
	return e.generateUnpacked(ctx, m, j)
}

// generateUnpacked runs the job's work, unpacked from its body if it has
// one, on a model that does not relay it.
func (e *Executor) generateUnpacked(ctx context.Context, m *served, j *job) (task.Output, error) {
	w, err := j.w.Unpacked()
	if err != nil {
		return task.Output{}, err
	}
	if r, ok := m.Model.(Reporter); ok {
		var report func(task.Progress)
		if w.Stream {
			report = func(p task.Progress) {
				e.accept(j)
				e.reply(j.inbox, task.Reply{Type: task.ReplyProgress, Progress: &p})
			}
		}
		return r.GenerateReporting(ctx, w, report)
	}
	var progress func(string)
	if w.Stream {
		progress = func(delta string) {
			if delta != "" {
				e.accept(j)
				e.reply(j.inbox, task.Reply{Type: task.ReplyProgress, Delta: delta})
			}
		}
	}
	if am, ok := m.Model.(ArtifactModel); ok {
		return e.generateArtifacts(ctx, am, &w, progress)
	}
	if len(w.Artifacts) > 0 {
		return task.Output{}, task.Errorf(task.CodeBadInput, "model %s reads text only and cannot take the subtask's %d artifacts; "+
			"plan a step that turns them into text first", w.Model, len(w.Artifacts))
	}
	return m.Model.Generate(ctx, w, progress)
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
	buf := replyBuffers.Get().(*[]byte)
	data, err := task.AppendReply((*buf)[:0], r)
	defer putReplyBuffer(buf, data)
	if err != nil {
		e.cfg.Logger.Error("encoding reply", "err", err)
		return
	}
	// Publish copies data before it returns, and refuses what is over
	// the server's max_payload without sending anything.
	err = e.nc.Publish(inbox, data)
	if errors.Is(err, nats.ErrMaxPayload) {
		// The router would wait for nothing: say why instead.
		data, _ = json.Marshal(task.Reply{Type: task.ReplyError, Executor: e.cfg.ID, ElapsedUs: r.ElapsedUs, Error: task.Errorf(task.CodeTooLarge,
			"the model's %s is %d bytes, more than the NATS server's max_payload of %d; raise max_payload, or ask for a smaller answer",
			r.Type, len(data), e.nc.MaxPayload())})
		err = e.nc.Publish(inbox, data)
	}
	if err != nil {
		e.cfg.Logger.Debug("publishing reply", "err", err)
	}
}

// replyBuffers recycles the buffers replies are encoded in: a stream
// sends one reply per token.
var replyBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// putReplyBuffer returns a buffer, grown to data, to the pool, unless a
// large result grew it: that one is left to the collector.
func putReplyBuffer(buf *[]byte, data []byte) {
	if cap(data) <= 64<<10 {
		*buf = data[:0]
		replyBuffers.Put(buf)
	}
}

func (e *Executor) publish(inbox string, data []byte) {
	if err := e.nc.Publish(inbox, data); err != nil {
		e.cfg.Logger.Debug("publishing reply", "err", err)
	}
}
