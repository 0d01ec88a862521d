package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/taskrouter/taskrouter/registry"
)

// scrapeTimeout bounds what one scrape waits for the registry.
const scrapeTimeout = 2 * time.Second

// ModelLister lists the models with their live state; the registry is one.
type ModelLister interface {
	Models(ctx context.Context) ([]registry.ModelState, error)
}

// JobCounter counts the jobs this router holds now; the jobs manager is one.
type JobCounter interface {
	Counts() (queued, running int)
}

// ExecutorLoad is what an executor tells of its load; the executor is one.
type ExecutorLoad interface {
	Models() []string
	InFlight(model string) int
}

// WatchModels exports, at every scrape, the models' in-flight dispatches,
// circuit breaker states, tokens and cost, as the registry knows them.
// Reading them when scraped costs the dispatch path nothing.
func (m *Metrics) WatchModels(l ModelLister) {
	m.reg.MustRegister(&modelCollector{l: l,
		inflight: desc("model_inflight", "Dispatches of this router to the model in flight now.", "model"),
		circuit:  desc("model_circuit_state", "1 for the state the model's circuit breaker is in (closed, open, half_open), 0 for the others.", "model", "state"),
		tokens:   desc("tokens_total", "Tokens of this router's successful dispatches to the model, by direction (prompt, completion).", "model", "direction"),
		cost:     desc("cost_usd_total", "Cost in US dollars of this router's successful dispatches to the model, at its configured prices.", "model"),
	})
}

// WatchJobs exports, at every scrape, the jobs this router holds by status.
func (m *Metrics) WatchJobs(j JobCounter) {
	m.reg.MustRegister(&jobsCollector{j: j, jobs: desc("jobs", "Jobs this router holds now, by status (queued, running).", "status")})
}

// WatchExecutor exports, at every scrape, an executor's subtasks in flight.
func (m *Metrics) WatchExecutor(e ExecutorLoad) {
	m.reg.MustRegister(&executorCollector{e: e,
		inflight: desc("executor_inflight", "Subtasks this executor runs or queues now, by model.", "model")})
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
}

var (
	_ prometheus.Collector = (*modelCollector)(nil)
	_ prometheus.Collector = (*jobsCollector)(nil)
	_ prometheus.Collector = (*executorCollector)(nil)
)

type modelCollector struct {
	l                               ModelLister
	inflight, circuit, tokens, cost *prometheus.Desc
}

func (c *modelCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.inflight
	ch <- c.circuit
	ch <- c.tokens
	ch <- c.cost
}

// Collect reads the registry; a stale list (Redis away) is still the best
// this router knows, and is exported.
func (c *modelCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	list, _ := c.l.Models(ctx)
	for _, s := range list {
		name := s.Spec.Name
		ch <- prometheus.MustNewConstMetric(c.inflight, prometheus.GaugeValue, float64(s.Dispatching), name)
		for _, state := range []string{registry.CircuitClosed, registry.CircuitOpen, registry.CircuitHalfOpen} {
			v := 0.0
			if s.Circuit == state {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(c.circuit, prometheus.GaugeValue, v, name, state)
		}
		ch <- prometheus.MustNewConstMetric(c.tokens, prometheus.CounterValue, float64(s.Usage.PromptTokens), name, "prompt")
		ch <- prometheus.MustNewConstMetric(c.tokens, prometheus.CounterValue, float64(s.Usage.CompletionTokens), name, "completion")
		ch <- prometheus.MustNewConstMetric(c.cost, prometheus.CounterValue, s.Usage.CostUSD, name)
	}
}

type jobsCollector struct {
	j    JobCounter
	jobs *prometheus.Desc
}

func (c *jobsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.jobs }

func (c *jobsCollector) Collect(ch chan<- prometheus.Metric) {
	queued, running := c.j.Counts()
	ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(queued), "queued")
	ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(running), "running")
}

type executorCollector struct {
	e        ExecutorLoad
	inflight *prometheus.Desc
}

func (c *executorCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.inflight }

func (c *executorCollector) Collect(ch chan<- prometheus.Metric) {
	for _, model := range c.e.Models() {
		ch <- prometheus.MustNewConstMetric(c.inflight, prometheus.GaugeValue, float64(c.e.InFlight(model)), model)
	}
}
