package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type httpKey struct {
	route string
	code  int
}

func (m *Metrics) registerHTTP() {
	m.httpRequests = counterVec("http_requests_total", "HTTP requests answered, by route pattern and status code.", "route", "code")
	m.rateLimited = counterVec("rate_limited_total", "HTTP requests refused by the per-key rate limit, by route pattern.", "route")
	m.webhookRejections = counterVec("webhook_rejections_total", "Webhook deliveries that created no job, by hook and reason.",
		"hook", "reason")
	m.reg.MustRegister(m.httpRequests, m.rateLimited, m.webhookRejections)
}

// HTTPRequest implements httpapi.Metrics.
func (m *Metrics) HTTPRequest(route string, code int, _ time.Duration) {
	m.httpS.get(httpKey{route, code}, func() prometheus.Counter {
		return m.httpRequests.WithLabelValues(route, strconv.Itoa(code))
	}).Inc()
}

// RateLimited implements httpapi.Metrics.
func (m *Metrics) RateLimited(route string) { m.rateLimited.WithLabelValues(route).Inc() }

// WebhookRejected implements httpapi.Metrics.
func (m *Metrics) WebhookRejected(hook, reason string) {
	m.webhookRejections.WithLabelValues(hook, reason).Inc()
}
