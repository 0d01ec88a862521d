package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/taskrouter/taskrouter/task"
)

// noModel is the model label of a subtask that no model took.
const noModel = "none"

type requestKey struct {
	ingress string
	status  task.Status
}

type requestSeries struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

type subtaskKey struct{ capability, model string }

type subtaskSeries struct {
	done, failed, cancelled prometheus.Counter
	duration                prometheus.Observer
}

type modelSeries struct {
	queue   prometheus.Observer
	retries seriesMap[task.Code, prometheus.Counter]
}

func (m *Metrics) registerRouter() {
	m.requests = counterVec("requests_total", "Requests that ended, by the way they came in and how they ended.", "ingress", "status")
	m.requestDuration = histogramVec("request_duration_seconds", "Time from a request's arrival at the router to its response.",
		RequestBuckets, "ingress")
	m.plans = counterVec("plans_total", "Plans run, by the planner that made them (given: the request's own) and whether it fell back.",
		"planner", "fallback")
	m.subtasks = counterVec("subtasks_total", "Subtasks that ended, by capability, the model of their last attempt and status.",
		"capability", "model", "status")
	m.subtaskDuration = histogramVec("subtask_duration_seconds", "Time from a subtask's start to its end, over all its attempts.",
		RequestBuckets, "capability", "model")
	m.queue = histogramVec("subtask_queue_seconds", "Time from a dispatch to an executor's accepting it.", QueueBuckets, "model")
	m.retries = counterVec("retries_total", "Attempts that failed and were followed by another, by model and error code.",
		"model", "reason")
	m.reg.MustRegister(m.requests, m.requestDuration, m.plans, m.subtasks, m.subtaskDuration, m.queue, m.retries)
}

// RequestEnded implements router.RequestMetrics.
func (m *Metrics) RequestEnded(ingress string, status task.Status, took time.Duration) {
	s := m.requestS.get(requestKey{ingress, status}, func() requestSeries {
		return requestSeries{m.requests.WithLabelValues(ingress, string(status)), m.requestDuration.WithLabelValues(ingress)}
	})
	s.count.Inc()
	s.duration.Observe(took.Seconds())
}

type planKey struct {
	planner  string
	fallback bool
}

// Planned implements router.RequestMetrics.
func (m *Metrics) Planned(planner string, fallback bool) {
	m.planS.get(planKey{planner, fallback}, func() prometheus.Counter {
		return m.plans.WithLabelValues(planner, strconv.FormatBool(fallback))
	}).Inc()
}

// SubtaskEnded implements router.SubtaskMetrics.
func (m *Metrics) SubtaskEnded(st *task.SubtaskState) {
	model := st.Model
	if model == "" {
		model = noModel
	}
	s := m.subtask(st.Capability, model)
	switch st.Status {
	case task.StatusDone:
		s.done.Inc()
	case task.StatusCancelled:
		s.cancelled.Inc()
	default:
		s.failed.Inc()
	}
	if !st.StartedAt.IsZero() && !st.EndedAt.IsZero() {
		s.duration.Observe(st.EndedAt.Sub(st.StartedAt).Seconds())
	}
}

func (m *Metrics) subtask(capability, model string) *subtaskSeries {
	return m.subtaskS.get(subtaskKey{capability, model}, func() *subtaskSeries {
		return &subtaskSeries{
			done:      m.subtasks.WithLabelValues(capability, model, string(task.StatusDone)),
			failed:    m.subtasks.WithLabelValues(capability, model, string(task.StatusFailed)),
			cancelled: m.subtasks.WithLabelValues(capability, model, string(task.StatusCancelled)),
			duration:  m.subtaskDuration.WithLabelValues(capability, model),
		}
	})
}

func (m *Metrics) model(name string) *modelSeries {
	return m.modelS.get(name, func() *modelSeries { return &modelSeries{queue: m.queue.WithLabelValues(name)} })
}

// Accepted implements router.SubtaskMetrics.
func (m *Metrics) Accepted(model string, queued time.Duration) {
	m.model(model).queue.Observe(queued.Seconds())
}

// Retried implements router.SubtaskMetrics.
func (m *Metrics) Retried(model string, reason task.Code) {
	m.model(model).retries.get(reason, func() prometheus.Counter {
		return m.retries.WithLabelValues(model, string(reason))
	}).Inc()
}
