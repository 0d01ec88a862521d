package main

import (
	"time"

	"github.com/taskrouter/taskrouter/bus"
)

// DurableConfig is the durable requests of NATS producers: the work queue
// TR_JOBS, the results stream TR_RESULTS and the routers' consumer.
type DurableConfig struct {
	// Enabled makes serve create the streams and run the requests (it
	// needs JetStream).
	Enabled bool `yaml:"enabled"`
	// AckWait is how long a router may hold a request without a sign of
	// life before JetStream delivers it to another (it sends one every
	// third of it while the job runs).
	AckWait time.Duration `yaml:"ack_wait"`
	// MaxDeliver bounds the deliveries of one request.
	MaxDeliver int `yaml:"max_deliver"`
	// MaxAckPending bounds the requests all routers hold at once.
	MaxAckPending int `yaml:"max_ack_pending"`
	// DedupeWindow is how long JetStream drops a request whose
	// Nats-Msg-Id it has seen.
	DedupeWindow time.Duration `yaml:"dedupe_window"`
	// ResultsTTL is how long results are kept.
	ResultsTTL time.Duration `yaml:"results_ttl"`
}

func defaultDurableConfig() DurableConfig {
	d := bus.Durable{}.WithDefaults()
	return DurableConfig{Enabled: true, AckWait: d.AckWait, MaxDeliver: d.MaxDeliver, MaxAckPending: d.MaxAckPending,
		DedupeWindow: d.DedupeWindow, ResultsTTL: d.ResultsTTL}
}

// maxReplicas is JetStream's bound on a stream's replicas.
const maxReplicas = 5

func (n *NATSConfig) validateJetStream(bad func(string, ...any)) {
	if n.Replicas < 1 || n.Replicas > maxReplicas {
		bad("nats.replicas: %d must be 1 to %d (3 in a cluster of three or more servers)", n.Replicas, maxReplicas)
	}
	if n.URL == "" && n.Replicas > 1 {
		bad("nats.replicas: %d needs a NATS cluster (nats.url); the embedded server is one server, so it keeps one copy", n.Replicas)
	}
	d := n.Durable
	if d.AckWait < time.Second {
		bad("nats.durable.ack_wait: %s must be at least 1s", d.AckWait)
	}
	if d.MaxDeliver < 1 {
		bad("nats.durable.max_deliver: %d must be at least 1", d.MaxDeliver)
	}
	if d.MaxAckPending < 1 {
		bad("nats.durable.max_ack_pending: %d must be at least 1", d.MaxAckPending)
	}
	if d.DedupeWindow <= 0 {
		bad("nats.durable.dedupe_window: must be a positive duration such as 2m")
	}
	if d.ResultsTTL < time.Minute {
		bad("nats.durable.results_ttl: %s must be at least 1m", d.ResultsTTL)
	}
}

// durable is the streams' and consumer's settings.
func (n NATSConfig) durable() bus.Durable {
	d := n.Durable
	return bus.Durable{Replicas: n.Replicas, DedupeWindow: d.DedupeWindow, ResultsTTL: d.ResultsTTL, AckWait: d.AckWait,
		MaxDeliver: d.MaxDeliver, MaxAckPending: d.MaxAckPending}
}
