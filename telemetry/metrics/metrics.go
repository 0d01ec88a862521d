// Package metrics is taskrouter's Prometheus instrumentation: every metric
// family, named once here, the Go and process collectors, and the
// GET /metrics handler. Metrics implements the small interfaces the
// router, the executors and the HTTP API declare, so that none of them
// imports Prometheus; series are resolved once per label set and cached,
// so a dispatch pays a map lookup and an atomic add.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every taskrouter metric.
const Namespace = "taskrouter"

// Buckets of the histograms, in seconds.
var (
	// RequestBuckets spans a local model's milliseconds to a long LLM
	// plan's minutes.
	RequestBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}
	// QueueBuckets spans a dispatch accepted in a NATS round trip to one
	// that waited for a free executor.
	QueueBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}
)

// Metrics holds the families and the cached series of one process. It is
// safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	requests          *prometheus.CounterVec
	requestDuration   *prometheus.HistogramVec
	plans             *prometheus.CounterVec
	subtasks          *prometheus.CounterVec
	subtaskDuration   *prometheus.HistogramVec
	queue             *prometheus.HistogramVec
	retries           *prometheus.CounterVec
	httpRequests      *prometheus.CounterVec
	rateLimited       *prometheus.CounterVec
	webhookRejections *prometheus.CounterVec
	executorWork      *prometheus.CounterVec
	executorDuration  *prometheus.HistogramVec
	mem               memoryFamilies

	requestS  seriesMap[requestKey, requestSeries]
	planS     seriesMap[planKey, prometheus.Counter]
	subtaskS  seriesMap[subtaskKey, *subtaskSeries]
	modelS    seriesMap[string, *modelSeries]
	httpS     seriesMap[httpKey, prometheus.Counter]
	executorS seriesMap[string, *executorSeries]
}

// New returns the metrics of a process, with the Go runtime's and the
// process's collectors registered.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.registerRouter()
	m.registerHTTP()
	m.registerExecutor()
	m.registerMemory()
	return m
}

func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
}

func histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help, Buckets: buckets}, labels)
}

// Handler serves the metrics in Prometheus's text format (or
// OpenMetrics, when the scraper asks for it).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{EnableOpenMetrics: true})
}
