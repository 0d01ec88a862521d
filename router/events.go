package router

import (
	"encoding/json"

	"github.com/taskrouter/taskrouter/task"
)

// eventSubjects are where a request's progress events go: the subject
// the request names (in its producer's inbox), and tr.v1.events.<id> for
// observers when the request asks for events without naming one, or
// when the router publishes every request's.
func (r *Router) eventSubjects(req *task.Request) []string {
	var to []string
	if req.EventsSubject != "" && task.CheckReplySubject(req.EventsSubject) == nil {
		to = append(to, req.EventsSubject)
	}
	if r.cfg.AllEvents || req.Events && req.EventsSubject == "" {
		to = append(to, task.EventsSubject(req.ID))
	}
	return to
}

// publishEvent publishes a progress event on the request's events
// subjects. Events are best effort: a failure to publish one never fails
// a request.
func (r *Router) publishEvent(ev task.Event, to []string) {
	data, err := json.Marshal(ev)
	if err != nil {
		return
	}
	for _, subject := range to {
		_ = r.nc.Publish(subject, data)
	}
}

// cancelRequest tells every executor to stop the request's subtasks and to
// refuse any of them that arrive late.
func (r *Router) cancelRequest(requestID string) {
	if err := r.nc.Publish(task.CancelSubject(requestID), nil); err != nil {
		r.cfg.Logger.Warn("publishing cancellation", "request_id", requestID, "err", err)
	}
}
