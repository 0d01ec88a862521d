package router

import (
	"context"
	"time"

	"github.com/taskrouter/taskrouter/memory"
	"github.com/taskrouter/taskrouter/task"
)

// cacheKey returns the answer cache's key of step s on model, and false
// when the step may not use the cache: no cache, a request that bypasses
// it or belongs to a conversation, or a model whose answer to this work
// is not deterministic.
func (ru *run) cacheKey(s task.Subtask, model task.ModelSpec) (string, bool) {
	if ru.r.cfg.Cache == nil || !ru.req.CacheAllowed() {
		return "", false
	}
	w := ru.work(s, model, 0, time.Time{}, nil)
	if !memory.Deterministic(model, w) {
		return "", false
	}
	return memory.CacheKey(ru.req.Owner, w), true
}

// cached returns the cached answer of step s on model, if there is one.
// A cache that fails is passed over: the step is dispatched.
func (ru *run) cached(ctx context.Context, s task.Subtask, model task.ModelSpec) (task.Output, bool) {
	key, ok := ru.cacheKey(s, model)
	if !ok {
		return task.Output{}, false
	}
	out, hit, err := ru.r.cfg.Cache.Get(ctx, key)
	if err != nil {
		ru.r.cfg.Logger.Warn("reading the answer cache failed; dispatching", "request_id", ru.req.ID, "subtask", s.ID, "err", err)
		return task.Output{}, false
	}
	if m := ru.r.memoryMetrics(); m != nil {
		m.CacheLookup(s.Capability, hit)
	}
	return out, hit
}

// remember keeps a deterministic step's answer in the cache.
func (ru *run) remember(ctx context.Context, s task.Subtask, model task.ModelSpec, out task.Output) {
	key, ok := ru.cacheKey(s, model)
	if !ok {
		return
	}
	if err := ru.r.cfg.Cache.Put(context.WithoutCancel(ctx), key, out); err != nil {
		ru.r.cfg.Logger.Warn("writing the answer cache failed", "request_id", ru.req.ID, "subtask", s.ID, "err", err)
	}
}

// succeedCached ends a subtask with a cached answer: no model was asked,
// so it has no attempt and costs nothing.
func (ru *run) succeedCached(st task.SubtaskState, model task.ModelSpec, out task.Output) task.SubtaskState {
	st.Model, st.Cached = model.Name, true
	out.Usage = task.Usage{}
	st.Status, st.EndedAt, st.Output, st.Format, st.Usage = task.StatusDone, time.Now(), out.Text, out.Format, out.Usage
	st.ToolCalls, st.FinishReason, st.Body = out.ToolCalls, out.FinishReason, out.Body
	if ru.observed() {
		o := out
		o.Body = nil
		ru.emitEvent(task.Event{Type: task.EventDone, SubtaskID: st.ID, Model: st.Model, Cached: true,
			Text: elapsed(st), Output: &o, Time: st.EndedAt})
	}
	return st
}
