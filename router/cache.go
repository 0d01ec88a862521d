package router

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/taskrouter/taskrouter/memory"
	"github.com/taskrouter/taskrouter/task"
)

// cacheKey returns the answer cache's key of step s on model, and false
// when the step may not use the cache: no cache, a request that bypasses
// it or belongs to a conversation, or a model whose answer to this work
// is not deterministic.
func (ru *run) cacheKey(s *task.Subtask, model *task.ModelSpec) (string, bool) {
	if ru.r.cfg.Cache == nil || !ru.req.CacheAllowed() {
		return "", false
	}
	var w task.Work
	ru.work(&w, s, model, 0, time.Time{}, nil)
	if !memory.Deterministic(*model, w) {
		return "", false
	}
	return memory.CacheKey(ru.req.Owner, w), true
}

// cached returns the cached answer of step s on model, if there is one.
// A cache that fails is passed over: the step is dispatched.
func (ru *run) cached(ctx context.Context, s *task.Subtask, model *task.ModelSpec) (task.Output, bool) {
	key, ok := ru.cacheKey(s, model)
	if !ok {
		return task.Output{}, false
	}
	if !ru.r.cacheUp.usable() {
		return task.Output{}, false
	}
	cctx, cancel := context.WithTimeout(ctx, cacheTimeout)
	defer cancel()
	out, hit, err := ru.r.cfg.Cache.Get(cctx, key)
	if err != nil {
		if ru.r.cacheUp.failed() {
			ru.r.cfg.Logger.Warn("reading the answer cache failed; dispatching without it for a while", "request_id", ru.req.ID,
				"subtask", s.ID, "pause", cachePause, "err", err)
		}
		return task.Output{}, false
	}
	if m := ru.r.memoryMetrics(); m != nil {
		m.CacheLookup(s.Capability, hit)
	}
	return out, hit
}

// remember keeps a deterministic step's answer in the cache.
func (ru *run) remember(ctx context.Context, s *task.Subtask, model *task.ModelSpec, out *task.Output) {
	key, ok := ru.cacheKey(s, model)
	if !ok {
		return
	}
	if !ru.r.cacheUp.usable() {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cacheTimeout)
	defer cancel()
	if err := ru.r.cfg.Cache.Put(cctx, key, *out); err != nil && ru.r.cacheUp.failed() {
		ru.r.cfg.Logger.Warn("writing the answer cache failed; dispatching without it for a while", "request_id", ru.req.ID,
			"subtask", s.ID, "pause", cachePause, "err", err)
	}
}

// succeedCached ends a subtask with a cached answer: no model was asked,
// so it has no attempt and costs nothing.
func (ru *run) succeedCached(st *task.SubtaskState, model *task.ModelSpec, out *task.Output) {
	st.Model, st.Cached = model.Name, true
	out.Usage = task.Usage{}
	st.Status, st.EndedAt, st.Output, st.Format, st.Usage = task.StatusDone, time.Now(), out.Text, out.Format, out.Usage
	st.ToolCalls, st.FinishReason, st.Body = out.ToolCalls, out.FinishReason, out.Body
	if ru.observed() {
		o := *out
		o.Body = nil
		ru.emitEvent(task.Event{Type: task.EventDone, SubtaskID: st.ID, Model: st.Model, Cached: true,
			Text: elapsed(st), Output: &o, Time: st.EndedAt})
	}
}

// The answer cache is a saving, never a wait: a lookup or a write gets
// cacheTimeout, and after one fails (its Redis is away) the cache is left
// alone for cachePause, so that an outage costs each request nothing.
const (
	cacheTimeout = 250 * time.Millisecond
	cachePause   = 5 * time.Second
)

// cacheHealth says whether the answer cache may be used now.
type cacheHealth struct {
	pausedUntil atomic.Int64 // unix ns; 0 when in use
}

func (h *cacheHealth) usable() bool {
	until := h.pausedUntil.Load()
	return until == 0 || time.Now().UnixNano() >= until
}

// failed pauses the cache; it reports whether it was in use before, so
// that an outage is logged once per pause rather than per request.
func (h *cacheHealth) failed() bool {
	now := time.Now()
	prev := h.pausedUntil.Swap(now.Add(cachePause).UnixNano())
	return prev == 0 || now.UnixNano() >= prev
}
