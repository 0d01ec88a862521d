package console

import (
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// apply updates the record with one of its request's events.
func (r *record) apply(ev task.Event) {
	r.seq++
	at := ev.Time
	switch ev.Type {
	case task.EventPlanned:
		r.applyPlanned(ev)
	case task.EventFinished:
		r.applyFinished(ev)
	case task.EventMerged:
		r.merge = r.replace(r.merge, ev.Text)
		if ev.Model != "" {
			r.model = r.replace(r.model, ev.Model)
		}
	default:
		if s := r.step(ev.SubtaskID); s != nil {
			r.applyStep(s, ev, at)
		}
	}
}

func (r *record) applyPlanned(ev task.Event) {
	if ev.ElapsedMs > 0 && ev.ElapsedMs < int64(24*time.Hour/time.Millisecond) {
		r.started = ev.Time.Add(-time.Duration(ev.ElapsedMs) * time.Millisecond)
	}
	r.planned = ev.Time
	r.ingress = ingress(ev.Ingress)
	r.input = r.replace(r.input, ev.Input)
	r.clipped = r.clipped || ev.Clipped
	r.plan(ev.Plan)
}

func (r *record) applyFinished(ev task.Event) {
	r.ended = ev.Time
	if r.ingress == "" {
		r.ingress = ingress(ev.Ingress)
	}
	r.err = r.clipError(ev.Error)
	if ev.Output != nil {
		r.answer = r.replace(r.answer, ev.Output.Text)
		r.usage = ev.Output.Usage
	}
	if ev.Text != "" {
		r.merge = r.replace(r.merge, ev.Text)
	}
	if ev.Model != "" {
		r.model = r.replace(r.model, ev.Model)
	}
	r.status = finalStatus(ev)
}

// finalStatus is a finished request's: cancelled by its caller, done
// when it has an answer (a partial one carries the error of what
// failed), failed otherwise.
func finalStatus(ev task.Event) string {
	switch {
	case ev.Error == nil:
		return statusDone
	case ev.Error.Code == task.CodeCancelled:
		return statusCancelled
	case ev.Output != nil && ev.Output.Text != "":
		return statusDone
	}
	return statusFailed
}

// applyStep follows one subtask through its attempts.
func (r *record) applyStep(s *subtask, ev task.Event, at time.Time) {
	switch ev.Type {
	case task.EventDispatched:
		s.status = statusRunning
		if s.capability == "" {
			s.capability = r.replace(s.capability, ev.Capability)
		}
		s.model = r.replace(s.model, ev.Model)
		if ev.Input != "" {
			s.input = r.replace(s.input, ev.Input)
		}
		s.output = r.replace(s.output, "") // a retry writes anew
		r.dropStreamed(s)
		if a := r.try(s, ev.Attempt, at); a != nil {
			a.model, a.dispatched, a.status = s.model, at, statusQueued
		}
	case task.EventAccepted:
		s.executor = r.replace(s.executor, ev.Executor)
		if a := r.try(s, ev.Attempt, at); a != nil {
			a.executor, a.accepted, a.status = s.executor, at, statusRunning
		}
	case task.EventProgress:
		r.stream(s, ev.Text)
	case task.EventRetry:
		if a := r.try(s, ev.Attempt, at); a != nil {
			a.ended, a.status, a.err = at, statusRetried, r.clipError(ev.Error)
		}
	case task.EventDone:
		r.applyDone(s, ev, at)
	case task.EventFailed, task.EventCancelled:
		s.status, s.err = statusFailed, r.clipError(ev.Error)
		if ev.Type == task.EventCancelled {
			s.status = statusCancelled
		}
		s.end(at, s.status, s.err)
	}
}

func (r *record) applyDone(s *subtask, ev task.Event, at time.Time) {
	s.status, s.err = statusDone, nil
	if ev.Model != "" {
		s.model = r.replace(s.model, ev.Model)
	}
	if ev.Executor != "" {
		s.executor = r.replace(s.executor, ev.Executor)
	}
	if ev.Output != nil {
		s.output = r.replace(s.output, ev.Output.Text)
		r.dropStreamed(s)
		s.format = r.replace(s.format, ev.Output.Format)
		s.usage = ev.Output.Usage
	}
	if a := r.try(s, ev.Attempt, at); a != nil && a.ended.IsZero() {
		a.ended, a.status = at, statusDone
		if a.accepted.IsZero() {
			a.accepted = a.dispatched
		}
	}
}

// replace swaps a text the record keeps for a new one, within the bounds.
func (r *record) replace(old, text string) string {
	r.bytes -= len(old)
	return r.clip(text)
}

func (r *record) clipError(e *task.Error) *task.Error {
	if e == nil {
		return nil
	}
	c := *e
	c.Message = r.clip(c.Message)
	c.Code = task.Code(r.clip(string(c.Code)))
	c.Subtask = r.clip(c.Subtask)
	return &c
}

// ingress is a known ingress name, or "other" for one a remote router
// made up, so that the console never shows unbounded labels.
func ingress(name string) string {
	switch name {
	case task.IngressHTTP, task.IngressNATS, task.IngressJob, task.IngressWebhook, task.IngressCLI, task.IngressMCP, "":
		return name
	}
	return "other"
}

// stream adds text a step streamed, within the bounds; appended, not
// copied whole each time, as a long answer streams many small pieces.
func (r *record) stream(s *subtask, text string) {
	if len(s.output)+len(s.streamed)+len(text) <= task.MaxEventText {
		s.streamed = append(s.streamed, text...)
		r.bytes += len(text)
	}
}

// dropStreamed forgets what an attempt streamed, for its output or a retry.
func (r *record) dropStreamed(s *subtask) {
	r.bytes -= len(s.streamed)
	s.streamed = nil
}
