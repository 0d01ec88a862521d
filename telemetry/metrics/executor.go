package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/taskrouter/taskrouter/task"
)

type executorSeries struct {
	done, failed, cancelled prometheus.Counter
	duration                prometheus.Observer
}

func (m *Metrics) registerExecutor() {
	m.executorWork = counterVec("executor_subtasks_total", "Subtasks this executor ran, by model and status.", "model", "status")
	m.executorDuration = histogramVec("executor_subtask_duration_seconds", "Time this executor's model took for a subtask.",
		RequestBuckets, "model")
	m.reg.MustRegister(m.executorWork, m.executorDuration)
}

// WorkEnded implements executors.Metrics.
func (m *Metrics) WorkEnded(model string, status task.Status, took time.Duration) {
	s := m.executorS.get(model, func() *executorSeries {
		return &executorSeries{
			done:      m.executorWork.WithLabelValues(model, string(task.StatusDone)),
			failed:    m.executorWork.WithLabelValues(model, string(task.StatusFailed)),
			cancelled: m.executorWork.WithLabelValues(model, string(task.StatusCancelled)),
			duration:  m.executorDuration.WithLabelValues(model),
		}
	})
	switch status {
	case task.StatusDone:
		s.done.Inc()
	case task.StatusCancelled:
		s.cancelled.Inc()
	default:
		s.failed.Inc()
	}
	s.duration.Observe(took.Seconds())
}
