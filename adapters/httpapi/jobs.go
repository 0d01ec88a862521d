package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/taskrouter/taskrouter/adapters/httpapi/internal/pipe"
	"github.com/taskrouter/taskrouter/adapters/httpapi/jobs"
	"github.com/taskrouter/taskrouter/telemetry"
)

// postJob answers POST /v1/jobs: 202 with the queued job, at once.
func (s *Server) postJob(w http.ResponseWriter, r *http.Request, c caller) {
	if !allow(w, r, http.MethodPost) || !s.jobsEnabled(w) {
		return
	}
	body, e := s.readBody(w, r)
	if e != nil {
		writeError(w, e)
		return
	}
	jr, req, e := decodeJobRequest(body, s.cfg.Limits)
	if e != nil {
		writeError(w, e)
		return
	}
	if jr.Model == "" {
		jr.Model = ModelTaskrouter
	}
	mf := memoryFields{conversation: req.Conversation, scope: req.MemoryScope, cache: req.Cache}
	if e = mf.fromHeaders(r.Header); e != nil {
		writeError(w, e)
		return
	}
	mf.apply(&req, c.owner)
	if e := s.resolveFiles(r.Context(), &req); e != nil {
		writeError(w, e)
		return
	}
	if req, e = s.route(r.Context(), jr.Model, req); e != nil {
		writeError(w, e)
		return
	}
	s.submit(w, r.Context(), jobs.Spec{Request: req, Model: jr.Model, Source: "api", Owner: c.owner,
		CallbackURL: jr.CallbackURL, Metadata: jr.Metadata})
}

// submit hands a job to the manager and answers 202 with it.
func (s *Server) submit(w http.ResponseWriter, ctx context.Context, spec jobs.Spec) {
	spec.Traceparent = telemetry.Traceparent(ctx)
	j, err := s.cfg.Jobs.Submit(ctx, spec)
	if err != nil {
		writeError(w, submitError(err))
		return
	}
	w.Header().Set("Location", "/v1/jobs/"+j.ID)
	writeJSON(w, http.StatusAccepted, view(j))
}

func submitError(err error) *apiError {
	switch {
	case errors.Is(err, jobs.ErrQueueFull):
		e := newError(http.StatusServiceUnavailable, typeServer, "queue_full",
			"Every worker is busy and the job queue is full; the job was not accepted. Retry after the time in the Retry-After header.")
		e.RetryAfter = time.Second
		return e
	case errors.Is(err, jobs.ErrClosed):
		e := newError(http.StatusServiceUnavailable, typeServer, "shutting_down", "This router is shutting down; send the job to another one or retry.")
		e.RetryAfter = time.Second
		return e
	case errors.Is(err, jobs.ErrTooLarge):
		return newError(http.StatusRequestEntityTooLarge, typeInvalidRequest, "job_too_large",
			"The job is too large for the job store ("+err.Error()+"); send a smaller input, use /v1/chat/completions, or raise the NATS server's max_payload.")
	case errors.Is(err, jobs.ErrBadCallbackURL):
		return badRequest("invalid_callback_url", err.Error()).withParam("callback_url")
	case errors.Is(err, jobs.ErrNoCallbackSecret):
		return badRequest("callbacks_disabled", "This router has no callback signing secret (TASKROUTER_CALLBACK_SECRET), so it cannot deliver to callback_url; leave it out and poll GET /v1/jobs/{id}.").withParam("callback_url")
	}
	return asAPIError(err)
}

// job answers GET and DELETE /v1/jobs/{id}.
func (s *Server) job(w http.ResponseWriter, r *http.Request, c caller) {
	if !allow(w, r, http.MethodGet, http.MethodDelete) || !s.jobsEnabled(w) {
		return
	}
	id := r.PathValue("id")
	var j jobs.Job
	var err error
	if r.Method == http.MethodGet {
		j, err = s.cfg.Jobs.Get(r.Context(), id, c.owner)
	} else {
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		j, err = s.cfg.Jobs.Cancel(ctx, id, c.owner)
	}
	if err != nil {
		writeError(w, jobError(id, err))
		return
	}
	writeJSON(w, http.StatusOK, view(j))
}

func jobError(id string, err error) *apiError {
	switch {
	case errors.Is(err, jobs.ErrNotFound):
		return newError(http.StatusNotFound, typeNotFound, "job_not_found",
			"No job "+id+" exists for this API key; it may have expired (jobs are kept for a limited time).").withParam("id")
	case errors.Is(err, jobs.ErrFinal):
		return newError(http.StatusConflict, typeInvalidRequest, "job_already_ended", "Job "+id+" has already ended; there is nothing to cancel.")
	}
	return asAPIError(err)
}

func (s *Server) jobsEnabled(w http.ResponseWriter) bool {
	if s.cfg.Jobs != nil {
		return true
	}
	writeError(w, newError(http.StatusServiceUnavailable, typeServer, "jobs_disabled", "This router does not run jobs."))
	return false
}

// view is a job as the API shows it, the same as callbacks carry.
func view(j jobs.Job) jobs.Job { return j.Public() }

// jobEvents answers GET /v1/jobs/{id}/events: server-sent events with the
// job's state ("event: job") at once and at every change, and its
// progress events (event named by type) in between, until the job ends.
func (s *Server) jobEvents(w http.ResponseWriter, r *http.Request, c caller) {
	if !allow(w, r, http.MethodGet) || !s.jobsEnabled(w) {
		return
	}
	id := r.PathValue("id")
	updates := pipe.NewQueue[jobs.Update]()
	j, stop, err := s.cfg.Jobs.Follow(r.Context(), id, c.owner, updates.Push)
	if err != nil {
		writeError(w, jobError(id, err))
		return
	}
	defer stop()
	ev := newEventWriter(w)
	if !ev.job(j) || j.Status.Final() {
		return
	}
	keepAlive := time.NewTicker(s.cfg.KeepAlive)
	defer keepAlive.Stop()
	var buf []jobs.Update
	for {
		select {
		case <-r.Context().Done():
			return
		case <-keepAlive.C:
			if !ev.comment("keep-alive") {
				return
			}
		case <-updates.Ready():
			buf = updates.Take(buf)
			if !ev.updates(buf) {
				return
			}
		}
	}
}
