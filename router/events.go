package router

import (
	"encoding/json"

	"github.com/taskrouter/taskrouter/task"
)

// publishEvent publishes a progress event on the request's events subject.
// Events are best effort: a failure to publish one never fails a request.
func (r *Router) publishEvent(ev task.Event) {
	data, err := json.Marshal(ev)
	if err != nil {
		return
	}
	_ = r.nc.Publish(task.EventsSubject(ev.RequestID), data)
}

// cancelRequest tells every executor to stop the request's subtasks and to
// refuse any of them that arrive late.
func (r *Router) cancelRequest(requestID string) {
	if err := r.nc.Publish(task.CancelSubject(requestID), nil); err != nil {
		r.cfg.Logger.Warn("publishing cancellation", "request_id", requestID, "err", err)
	}
}
