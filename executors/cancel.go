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
	mu      sync.Mutex
	running map[string]map[*runningWork]struct{}
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

type runningWork struct {
	subtask string
	attempt int
	inbox   string
	cancel  context.CancelFunc
}

func newCancels() *cancels {
	return &cancels{running: map[string]map[*runningWork]struct{}{}, gone: map[string]time.Time{}, goneAttempts: map[attemptKey]time.Time{}}
}

// track registers running work so cancellations reach it. It refuses (ok
// false) work of a request cancelled as a whole: checking and registering
// under one lock means a cancellation never slips between the two.
func (c *cancels) track(requestID, subtaskID string, attempt int, inbox string, cancel context.CancelFunc) (untrack func(), ok bool) {
	w := &runningWork{subtask: subtaskID, attempt: attempt, inbox: inbox, cancel: cancel}
	c.mu.Lock()
	now := time.Now()
	if until, gone := c.gone[requestID]; gone && now.Before(until) {
		c.mu.Unlock()
		return nil, false
	}
	if until, gone := c.goneAttempts[attemptKey{requestID, subtaskID, attempt}]; gone && now.Before(until) {
		c.mu.Unlock()
		return nil, false
	}
	set := c.running[requestID]
	if set == nil {
		set = map[*runningWork]struct{}{}
		c.running[requestID] = set
	}
	set[w] = struct{}{}
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		delete(set, w)
		if len(set) == 0 && c.running[requestID] != nil && len(c.running[requestID]) == 0 {
			delete(c.running, requestID)
		}
		c.mu.Unlock()
	}, true
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
	for w := range c.running[requestID] {
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
	for _, set := range c.running {
		for w := range set {
			buf = append(buf, w.inbox)
		}
	}
	return buf
}

func (c *cancels) all() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, set := range c.running {
		for w := range set {
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
