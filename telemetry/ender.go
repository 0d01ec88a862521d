package telemetry

import (
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/taskrouter/taskrouter/task"
)

// EndDelay is how long an Ender holds the spans it is given before it
// ends them together.
const EndDelay = 10 * time.Millisecond

// Ender ends spans off the request's path, in batches. Ending a span
// costs the OpenTelemetry SDK microseconds and wakes its batch processor's
// goroutine; on every dispatch that would be paid twice on the request's
// path, or by a goroutine woken to do it, which on a small machine takes a
// core from the request's own. Each span ends at the time it is given, so
// a trace shows when the work ended, not when the batch did. It is safe
// for concurrent use.
type Ender struct {
	delay time.Duration

	mu      sync.Mutex
	pending []pendingEnd
	spare   []pendingEnd
	timer   *time.Timer // armed while pending holds spans
	closed  bool
	ending  sync.WaitGroup // batches being ended
}

type pendingEnd struct {
	span trace.Span
	end  *SpanEnd // span's attributes
	// reserved, when span is nil, is recorded with step's attributes as
	// the batch is ended.
	reserved Reserved
	step     StepEnd
	err      *task.Error
	at       time.Time
}

// NewEnder returns an Ender that ends a span within delay of its End.
func NewEnder(delay time.Duration) *Ender { return &Ender{delay: delay} }

// End ends span with the attributes in end, and err's status, at the time
// at, within the Ender's delay; after Close, at once. end must not be
// used after.
func (e *Ender) End(span trace.Span, end *SpanEnd, err *task.Error, at time.Time) {
	e.add(pendingEnd{span: span, end: end, err: err, at: at})
}

// Record records the span r, which ended at at, with step's attributes
// and err's status, within the Ender's delay, as End ends a span; a span
// its sampler dropped is not recorded at all. The attributes are made
// only then, off the request's path.
func (e *Ender) Record(r Reserved, step *StepEnd, err *task.Error, at time.Time) {
	if !r.Kept() {
		return
	}
	e.add(pendingEnd{reserved: r, step: *step, err: err, at: at})
}

func (e *Ender) add(p pendingEnd) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		p.finish()
		return
	}
	e.pending = append(e.pending, p)
	if len(e.pending) == 1 {
		e.ending.Add(1)
		e.timer = time.AfterFunc(e.delay, e.flush)
	}
	e.mu.Unlock()
}

// finish records the span when it was reserved, or ends it.
func (p *pendingEnd) finish() {
	if p.span == nil {
		p.step.SpanEnd().Finish(p.reserved, p.err, p.at)
		return
	}
	p.end.End(p.span, p.err, trace.WithTimestamp(p.at))
}

// flush ends the spans pending, as the timer armed for them fires or
// Close stops it.
func (e *Ender) flush() {
	defer e.ending.Done()
	e.mu.Lock()
	batch := e.pending
	e.pending, e.spare = e.spare[:0], nil
	e.timer = nil
	e.mu.Unlock()
	for i := range batch {
		batch[i].finish()
		batch[i] = pendingEnd{}
	}
	e.mu.Lock()
	if e.spare == nil {
		e.spare = batch[:0]
	}
	e.mu.Unlock()
}

// Close ends the spans pending now and waits for batches being ended;
// spans given after it are ended at once.
func (e *Ender) Close() {
	e.mu.Lock()
	e.closed = true
	t := e.timer
	e.mu.Unlock()
	if t != nil && t.Stop() {
		e.flush()
	}
	e.ending.Wait()
}
