package server

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/taskrouter/taskrouter/task"
)

// progress sends a request's progress to the client that asked for it
// with a progress token: MCP's notifications/progress as the plan is
// made, as each subtask starts, is retried and ends, and as the answer is
// merged. The router reports events on its own goroutines; progress
// queues them and one goroutine of its own sends them in order, so that a
// slow client never holds the router up. A nil *progress sends nothing.
type progress struct {
	ctx   context.Context
	send  func(context.Context, *mcp.ProgressNotificationParams) error
	token any
	// settle is the least time between the last notification and the
	// result; lastSent is when run sent the last one.
	settle   time.Duration
	lastSent time.Time

	mu     sync.Mutex
	tally  tally
	queue  []*mcp.ProgressNotificationParams
	closed bool
	wake   chan struct{}
	done   chan struct{}
}

// startProgress starts sending progress for a call with the given token;
// it returns nil when the call has none. Notifications go out with ctx,
// the call's, which ties them to the call's stream on HTTP.
func startProgress(ctx context.Context, session *mcp.ServerSession, token any) *progress {
	if token == nil || session == nil {
		return nil
	}
	return newProgress(ctx, token, session.NotifyProgress)
}

// settleTime separates a call's last progress notification from its
// result. The TypeScript SDK's client (Claude Desktop's, Claude Code's,
// most IDEs') handles a notification a step later than a result that
// arrives in the same read; by then the call is over, the token unknown,
// and it reports a protocol error, on which some hosts drop the stdio
// connection (typescript-sdk issue 2580). The pause costs a call with a
// progress token this long at most, once.
const settleTime = 100 * time.Millisecond

func newProgress(ctx context.Context, token any, send func(context.Context, *mcp.ProgressNotificationParams) error) *progress {
	p := &progress{ctx: ctx, send: send, token: token, settle: settleTime, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go p.run()
	return p
}

// event takes one of the request's events.
func (p *progress) event(ev task.Event) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	n, ok := p.tally.note(ev)
	if !ok {
		return
	}
	n.ProgressToken = p.token
	p.queue = append(p.queue, n)
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *progress) run() {
	defer close(p.done)
	for {
		p.mu.Lock()
		batch, closed := p.queue, p.closed
		p.queue = nil
		p.mu.Unlock()
		for _, n := range batch {
			// A cancelled call's token is forgotten by its client,
			// which takes a notification for it as a protocol error;
			// a client gone away fails every send, and the call's
			// result will not reach it either.
			if p.ctx.Err() != nil || p.send(p.ctx, n) != nil {
				return
			}
			p.lastSent = time.Now()
		}
		if closed {
			return
		}
		select {
		case <-p.wake:
		case <-p.ctx.Done():
			return
		}
	}
}

// stop sends what is queued and returns once it is sent, and settled,
// so that every notification precedes the call's result.
func (p *progress) stop() {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	<-p.done
	if p.lastSent.IsZero() {
		return
	}
	if wait := time.Until(p.lastSent.Add(p.settle)); wait > 0 {
		select {
		case <-time.After(wait):
		case <-p.ctx.Done():
		}
	}
}

// tally counts a request's progress in steps: the plan, then each
// subtask's start and end, one more for every retry and its new start,
// then the merged answer. Progress is the steps done and total the steps
// known, so that progress increases with every notification, as MCP
// requires, and reaches total with the answer.
type tally struct {
	progress, total float64
	started, ended  map[string]bool
	subtasks        int // in the plan as last planned
}

// note counts an event and returns its notification, or false for an
// event that is not one (dispatches, streamed text, the end).
func (t *tally) note(ev task.Event) (*mcp.ProgressNotificationParams, bool) {
	if t.started == nil {
		t.started, t.ended = map[string]bool{}, map[string]bool{}
	}
	id := ev.SubtaskID
	var msg string
	switch ev.Type {
	case task.EventPlanned:
		if t.total == 0 {
			t.progress, t.total = 1, float64(2*ev.Subtasks+2)
		} else {
			// The plan grew (it is dispatched as it is written, or a
			// further round was planned): one step more, and the new
			// subtasks' starts and ends.
			t.progress++
			t.total += float64(2*(ev.Subtasks-t.subtasks)) + 1
		}
		t.subtasks = ev.Subtasks
		msg = planned(ev)
	case task.EventAccepted:
		if t.ended[id] {
			return nil, false
		}
		t.started[id] = true
		t.progress++
		msg = fmt.Sprintf("%s %s running on %s", id, ev.Capability, ev.Model)
		if ev.Attempt > 1 {
			msg += fmt.Sprintf(" (attempt %d)", ev.Attempt)
		}
	case task.EventRetry:
		t.progress++
		t.total += 2
		msg = fmt.Sprintf("%s %s: attempt %d on %s failed (%s); retrying", id, ev.Capability, ev.Attempt, ev.Model, errorText(ev.Error))
	case task.EventDone, task.EventFailed, task.EventCancelled:
		if t.ended[id] {
			return nil, false
		}
		if !t.started[id] {
			t.progress++ // it never started: its start step is done too
		}
		t.ended[id] = true
		t.progress++
		msg = ended(ev)
	case task.EventMerged:
		t.progress = max(t.progress+1, t.total)
		t.total = t.progress
		return &mcp.ProgressNotificationParams{Progress: t.progress, Total: t.total, Message: "answer merged (" + ev.Text + ")"}, true
	default:
		return nil, false
	}
	if t.progress >= t.total {
		// A step the plan did not count (the merge model's): keep
		// the last step for the answer.
		t.total = t.progress + 1
	}
	return &mcp.ProgressNotificationParams{Progress: t.progress, Total: t.total, Message: msg}, true
}

func planned(ev task.Event) string {
	msg := fmt.Sprintf("planned %d subtasks", ev.Subtasks)
	if ev.Subtasks == 1 {
		msg = "planned 1 subtask"
	}
	if ev.Plan == nil || len(ev.Plan.Tasks) == 0 {
		return msg
	}
	var steps []string
	for _, s := range ev.Plan.Tasks {
		steps = append(steps, s.ID+" "+s.Capability)
	}
	return msg + ": " + strings.Join(steps, ", ")
}

func ended(ev task.Event) string {
	head := ev.SubtaskID + " " + ev.Capability
	switch ev.Type {
	case task.EventDone:
		msg := head + " done"
		if ev.Text != "" {
			msg += " in " + ev.Text
		}
		if ev.Model != "" {
			msg += " on " + ev.Model
		}
		return msg
	case task.EventCancelled:
		return head + " cancelled"
	}
	return head + " failed: " + errorText(ev.Error)
}

func errorText(e *task.Error) string {
	if e == nil {
		return "unknown error"
	}
	return string(e.Code) + ": " + e.Message
}
