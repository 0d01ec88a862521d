package executors

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/task"
)

// cancelledTTL is how long a cancelled request id is remembered, so that
// work for it arriving after the cancellation is refused.
const cancelledTTL = time.Minute

// cancels tracks the running subtasks of each request so a cancellation
// can reach them.
type cancels struct {
	mu sync.Mutex
	// running holds the first of each request's running work, which
	// links to the rest.
	running map[string]*runningWork
	gone    map[string]time.Time
	// goneAttempts remembers attempts cancelled by name, so that one still
	// waiting in the subscription's buffer (the router gave up waiting for
	// it to be accepted) is refused when it arrives instead of run.
	goneAttempts map[attemptKey]time.Time
}

// attemptKey names one attempt of one subtask of a request.
type attemptKey struct {
	request, subtask string
	attempt          int
}

// runningWork is one running attempt of a subtask, in its request's list
// of running work. A job holds its own, so tracking it costs nothing.
type runningWork struct {
	request, subtask string
	attempt          int
	inbox            string
	cancel           context.CancelFunc
	prev, next       *runningWork // guarded by cancels.mu
}

func newCancels() *cancels {
	return &cancels{running: map[string]*runningWork{}, gone: map[string]time.Time{}, goneAttempts: map[attemptKey]time.Time{}}
}

// track registers running work so cancellations reach it. It refuses
// (false) work of a request cancelled as a whole, or of an attempt
// cancelled by name: checking and registering under one lock means a
// cancellation never slips between the two.
func (c *cancels) track(w *runningWork) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if until, gone := c.gone[w.request]; gone && now.Before(until) {
		return false
	}
	if until, gone := c.goneAttempts[attemptKey{w.request, w.subtask, w.attempt}]; gone && now.Before(until) {
		return false
	}
	w.prev, w.next = nil, c.running[w.request]
	if w.next != nil {
		w.next.prev = w
	}
	c.running[w.request] = w
	return true
}

// untrack removes work that track took; it does nothing the second time.
func (c *cancels) untrack(w *runningWork) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case w.prev != nil:
		w.prev.next = w.next
	case c.running[w.request] != w:
		return // not tracked
	case w.next != nil:
		c.running[w.request] = w.next
	default:
		delete(c.running, w.request)
	}
	if w.next != nil {
		w.next.prev = w.prev
	}
	w.prev, w.next = nil, nil
}

func (c *cancels) cancelRequest(requestID string, subtasks []string, attempt int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(subtasks) == 0 {
		c.gone[requestID] = time.Now().Add(cancelledTTL)
	} else if attempt != 0 {
		for _, s := range subtasks {
			c.goneAttempts[attemptKey{requestID, s, attempt}] = time.Now().Add(cancelledTTL)
		}
	}
	n := 0
	for w := c.running[requestID]; w != nil; w = w.next {
		if (len(subtasks) == 0 || slices.Contains(subtasks, w.subtask)) && (attempt == 0 || attempt == w.attempt) {
			w.cancel()
			n++
		}
	}
	return n
}

// expire forgets cancelled request ids older than cancelledTTL.
func (c *cancels) expire(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, until := range c.gone {
		if now.After(until) {
			delete(c.gone, id)
		}
	}
	for k, until := range c.goneAttempts {
		if now.After(until) {
			delete(c.goneAttempts, k)
		}
	}
}

// inboxes returns the reply inboxes of every running subtask.
func (c *cancels) inboxes(buf []string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, first := range c.running {
		for w := first; w != nil; w = w.next {
			buf = append(buf, w.inbox)
		}
	}
	return buf
}

func (c *cancels) all() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, first := range c.running {
		for w := first; w != nil; w = w.next {
			w.cancel()
		}
	}
}

func (e *Executor) onCancel(msg *nats.Msg) {
	requestID := task.UnescapeToken(strings.TrimPrefix(msg.Subject, task.SubjectCancelPrefix))
	var notice task.CancelNotice
	if len(msg.Data) > 0 {
		err := task.CheckJSONDepth(msg.Data, task.MaxJSONDepth)
		if err == nil {
			err = json.Unmarshal(msg.Data, &notice)
		}
		if err != nil {
			e.cfg.Logger.Warn("ignoring a malformed cancel notice", "request_id", requestID, "err", err)
			return
		}
	}
	if n := e.cancel.cancelRequest(requestID, notice.Subtasks, notice.Attempt); n > 0 {
		e.cfg.Logger.Debug("cancelled subtasks", "request_id", requestID, "count", n)
	}
}
