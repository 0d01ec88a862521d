// Package telemetry holds what taskrouter's packages share to be
// observed: the W3C trace context that travels inside dispatched work and
// on ingress headers, and the names of span attributes. It is small on
// purpose: the router, the executors and the adapters import it, while
// Prometheus (telemetry/metrics) and the OpenTelemetry SDK
// (telemetry/tracing) stay with the command that wires them.
package telemetry

// Service names, as traces report them in service.name.
const (
	ServiceRouter   = "taskrouter"
	ServiceExecutor = "taskrouter-executor"
)

// InstrumentationName names the tracers of taskrouter's packages.
const InstrumentationName = "github.com/taskrouter/taskrouter"

// HeaderTraceparent is the W3C trace context header, on HTTP requests and
// on NATS messages to tr.v1.req.
const HeaderTraceparent = "traceparent"
