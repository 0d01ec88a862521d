package jobs

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/taskrouter/taskrouter/adapters/httpapi/internal/pipe"
	"github.com/taskrouter/taskrouter/task"
	"github.com/taskrouter/taskrouter/telemetry"
)

// work runs queued jobs until the queue is closed and empty.
func (m *Manager) work() {
	defer m.workers.Done()
	for l := range m.queue {
		if l.claim() {
			m.run(l)
		}
		m.forget(l.job.ID)
		close(l.done)
		m.pending.Add(-1)
	}
}

// run takes one job from queued to a final state, storing every change of
// its own or of a subtask's state, and publishing them and the progress
// events on the feed.
func (m *Manager) run(l *local) {
	j := &l.job
	defer l.cancel(nil)
	if l.ctx.Err() != nil {
		m.finish(l, task.Response{Error: task.AsError(context.Cause(l.ctx))})
		return
	}
	j.Status, j.StartedAt, j.Instance = StatusRunning, time.Now().UTC(), m.cfg.Instance
	m.publish(j)
	ctx := telemetry.ContextWithTraceparent(l.ctx, j.Traceparent)
	req := j.Request
	req.Ingress, req.Owner = ingressOf(j.Source), requester(j)
	if req.Model == "" || req.Model == task.ModelTaskrouter {
		// A request naming a model is planned by the runner, which pins it
		// to the model; the planner would plan it as if it named none.
		var err error
		if req, err = pipe.PlanFirst(ctx, m.cfg.Planner, req); err != nil {
			m.finish(l, task.Response{Error: task.AsError(err)})
			return
		}
	}
	if req.Plan != nil {
		j.Plan = req.Plan
		j.Subtasks = pendingStates(*req.Plan)
		m.publish(j)
	}
	events, done := pipe.Start(ctx, m.cfg.Runner, req)
	var buf []task.Event
	for {
		select {
		case <-events.Ready():
			buf = m.apply(j, events.Take(buf))
		case resp := <-done:
			m.apply(j, events.Take(buf))
			m.finish(l, resp)
			return
		}
	}
}

// ingressOf is the ingress of a job's request, by the job's source.
func ingressOf(source string) string {
	switch {
	case strings.HasPrefix(source, "webhook:"):
		return task.IngressWebhook
	case source == "nats" || strings.HasPrefix(source, "nats:"):
		return task.IngressNATS // a durable request, published on JetStream
	}
	return task.IngressJob
}

// requester is who a job's request is on behalf of, for its
// conversation: the API key that created it, the webhook, or the NATS
// producer user whose durable request it is (the server let only that
// user publish on its subject).
func requester(j *Job) string {
	if strings.HasPrefix(j.Source, "webhook:") || strings.HasPrefix(j.Source, "nats:") {
		return j.Source
	}
	return j.Owner
}

// apply follows the events of a running job: each goes to the feed, and
// a change of a subtask's state is stored.
func (m *Manager) apply(j *Job, evs []task.Event) []task.Event {
	changed := false
	for i := range evs {
		ev := evs[i]
		if ev.Type == task.EventFinished {
			continue // the job's final state, published next, says it
		}
		m.cfg.Feed.Publish(j.ID, Update{Event: &ev})
		changed = applyEvent(j, ev) || changed
	}
	if changed {
		m.save(j)
	}
	return evs
}

// applyEvent updates the subtask an event is about; it reports whether
// the job's stored state changed.
func applyEvent(j *Job, ev task.Event) bool {
	status, ok := map[task.EventType]task.Status{
		task.EventDispatched: task.StatusRunning, task.EventDone: task.StatusDone,
		task.EventFailed: task.StatusFailed, task.EventCancelled: task.StatusCancelled,
	}[ev.Type]
	if !ok || ev.SubtaskID == "" {
		return false
	}
	for i := range j.Subtasks {
		st := &j.Subtasks[i]
		if st.ID != ev.SubtaskID {
			continue
		}
		st.Status, st.Error = status, ev.Error
		if ev.Model != "" {
			st.Model = ev.Model
		}
		if ev.Attempt > 0 {
			st.Attempts = ev.Attempt
		}
		if ev.Type == task.EventDispatched && st.StartedAt.IsZero() {
			st.StartedAt = ev.Time
		}
		return true
	}
	return false
}

func pendingStates(p task.Plan) []task.SubtaskState {
	out := make([]task.SubtaskState, len(p.Tasks))
	for i, s := range p.Tasks {
		out[i] = task.SubtaskState{ID: s.ID, Capability: s.Capability, Deps: s.Deps, Status: task.StatusPending}
	}
	return out
}

// finish records the outcome of a job and starts its callback and result.
// A durable request's job that shutdown interrupted is not ended: its
// lease runs out, and another router (or this one, restarted) runs it
// again, as its producer was promised.
func (m *Manager) finish(l *local, resp task.Response) {
	j := &l.job
	if j.Result != nil && errors.Is(context.Cause(l.ctx), errShutdown) {
		m.cfg.Logger.Info("leaving a durable request's job to another router", "job", j.ID)
		return
	}
	j.EndedAt = time.Now().UTC()
	if resp.Plan != nil {
		j.Plan = resp.Plan
	}
	if len(resp.Subtasks) > 0 {
		j.Subtasks = resp.Subtasks
	}
	j.Answer, j.Merge, j.Usage, j.Error = resp.Answer, resp.Merge, resp.Usage, resp.Error
	j.Artifacts = resp.Artifacts
	j.Status = finalStatus(resp, context.Cause(l.ctx))
	if j.Status == StatusCancelled || errors.Is(context.Cause(l.ctx), errShutdown) {
		j.Error = task.AsError(context.Cause(l.ctx))
	}
	if j.Callback != nil {
		j.Callback.NextAttemptAt = j.EndedAt
	}
	if m.publish(j) {
		m.startDeliveries(*j)
	}
}

// finalStatus: a job cancelled by a caller is cancelled whatever came
// back; otherwise an answer makes it done (partial answers carry the
// error of what failed) and no answer makes it failed.
func finalStatus(resp task.Response, cause error) Status {
	var te *task.Error
	if errors.As(cause, &te) && te.Code == task.CodeCancelled {
		return StatusCancelled
	}
	if resp.Error == nil || resp.Answer != "" {
		return StatusDone
	}
	return StatusFailed
}

// publish stores the job's state and sends it to the feed; it reports
// false, and sends nothing, when another router has taken the job over.
func (m *Manager) publish(j *Job) bool {
	if !m.save(j) {
		return false
	}
	snapshot := j.clone()
	m.cfg.Feed.Publish(j.ID, Update{Job: &snapshot})
	return true
}
