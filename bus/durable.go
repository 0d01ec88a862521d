package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/taskrouter/taskrouter/task"
)

// The JetStream names of durable requests.
const (
	// JobsStream is the work queue of durable requests: tr.v1.jobs and
	// tr.v1.jobs.<producer>, deduplicated by Nats-Msg-Id.
	JobsStream = "TR_JOBS"
	// ResultsStream keeps their Responses on tr.v1.results.> for a while.
	ResultsStream = "TR_RESULTS"
	// JobsConsumer is the durable pull consumer every router shares.
	JobsConsumer = "taskrouter"
)

// Durable sizes the streams and the consumer of durable requests.
type Durable struct {
	// Replicas is how many servers keep each stream (1; 3 in a cluster).
	Replicas int
	// DedupeWindow is how long JetStream drops a request, and a result,
	// whose Nats-Msg-Id it has seen (2m).
	DedupeWindow time.Duration
	// ResultsTTL is how long results are kept (24h).
	ResultsTTL time.Duration
	// AckWait is how long a router may hold a request without a sign of
	// life before it is delivered to another (30s); routers send one every
	// third of it while the job runs.
	AckWait time.Duration
	// MaxDeliver bounds the deliveries of one request (10).
	MaxDeliver int
	// MaxAckPending bounds the requests held by all routers at once (1000).
	MaxAckPending int
}

// WithDefaults fills in the zero fields.
func (d Durable) WithDefaults() Durable {
	if d.Replicas <= 0 {
		d.Replicas = 1
	}
	if d.DedupeWindow <= 0 {
		d.DedupeWindow = 2 * time.Minute
	}
	if d.ResultsTTL <= 0 {
		d.ResultsTTL = 24 * time.Hour
	}
	if d.AckWait <= 0 {
		d.AckWait = 30 * time.Second
	}
	if d.MaxDeliver <= 0 {
		d.MaxDeliver = 10
	}
	if d.MaxAckPending <= 0 {
		d.MaxAckPending = 1000
	}
	return d
}

// JobsStreamConfig is the work queue of durable requests.
func (d Durable) JobsStreamConfig() jetstream.StreamConfig {
	d = d.WithDefaults()
	return jetstream.StreamConfig{
		Name:        JobsStream,
		Description: "taskrouter durable requests: routers run each as a job and publish its Response on tr.v1.results",
		Subjects:    []string{task.SubjectJobs, task.JobsSubject("*")},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    d.Replicas,
		Duplicates:  d.DedupeWindow,
	}
}

// ResultsStreamConfig keeps the Responses of durable requests, one
// subject per request, readable by a direct get of its subject.
func (d Durable) ResultsStreamConfig() jetstream.StreamConfig {
	d = d.WithDefaults()
	return jetstream.StreamConfig{
		Name:        ResultsStream,
		Description: "taskrouter results of durable requests, on tr.v1.results.<producer>.<job id>",
		Subjects:    []string{task.SubjectResultsPrefix + ">"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    d.Replicas,
		MaxAge:      d.ResultsTTL,
		Duplicates:  min(d.DedupeWindow, d.ResultsTTL),
		AllowDirect: true,
	}
}

// ConsumerConfig is the routers' shared consumer of durable requests.
func (d Durable) ConsumerConfig() jetstream.ConsumerConfig {
	d = d.WithDefaults()
	return jetstream.ConsumerConfig{
		Durable:       JobsConsumer,
		Description:   "taskrouter routers",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       d.AckWait,
		MaxDeliver:    d.MaxDeliver,
		MaxAckPending: d.MaxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
}

// ErrNoJetStream: the NATS servers have no JetStream for this account,
// so durable requests cannot be kept.
var ErrNoJetStream = errors.New("bus: JetStream is not enabled")

// SetupDurable creates the streams and the consumer of durable requests,
// or brings their settings up to d, and returns the consumer. It is what
// every router does when it starts, and what `taskrouter nats-setup`
// does for producers that start before any router.
func SetupDurable(ctx context.Context, js jetstream.JetStream, d Durable) (jetstream.Consumer, error) {
	for _, cfg := range []jetstream.StreamConfig{d.JobsStreamConfig(), d.ResultsStreamConfig()} {
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
				return nil, fmt.Errorf("creating stream %s: %w: %w", cfg.Name, ErrNoJetStream, err)
			}
			return nil, fmt.Errorf("creating stream %s: %w", cfg.Name, err)
		}
	}
	c, err := js.CreateOrUpdateConsumer(ctx, JobsStream, d.ConsumerConfig())
	if err != nil {
		return nil, fmt.Errorf("creating consumer %s on stream %s: %w", JobsConsumer, JobsStream, err)
	}
	return c, nil
}
