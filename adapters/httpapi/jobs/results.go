package jobs

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// ResultPublisher publishes the Responses of durable requests' jobs where
// their producers read them.
type ResultPublisher interface {
	// PublishResult publishes resp on subject. Publishing the same
	// subject again must add no second message: a router that published
	// a result may die before it records so, and another one then
	// publishes it again.
	PublishResult(ctx context.Context, subject string, resp task.Response) error
}

// Result is where a durable request's Response goes, and whether it went.
type Result struct {
	Subject string `json:"subject"`
	// State is "pending" until the Response is published, then
	// "published".
	State       string    `json:"state"`
	PublishedAt time.Time `json:"published_at,omitzero"`
}

// ResultPublished is the state of a published result.
const ResultPublished = "published"

// resultAttemptTimeout bounds one publication of a result: a stream
// whose leader was lost answers nothing until its servers elect another,
// which takes seconds, so a short bound retries soon after.
const resultAttemptTimeout = 3 * time.Second

// resultSender publishes the results of ended durable jobs, retrying
// until they are published (NATS may be failing over) or the router shuts
// down, which leaves them pending for another router to publish.
type resultSender struct {
	pub   ResultPublisher
	store store
	feed  Feed
	log   *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newResultSender(pub ResultPublisher, s store, feed Feed, log *slog.Logger) *resultSender {
	r := &resultSender{pub: pub, store: s, feed: feed, log: log}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	return r
}

// start publishes an ended job's result in the background.
func (r *resultSender) start(j Job) {
	if r.pub == nil || j.Result == nil || j.Result.State != DeliveryPending {
		return
	}
	r.wg.Go(func() { r.run(j) })
}

// close waits for publications in progress until ctx ends, then stops
// them; their results stay pending in the store.
func (r *resultSender) close(ctx context.Context) {
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		r.cancel()
		<-done
	}
	r.cancel()
}

// run publishes the result, then records that it did. The job store is
// the source of truth: a result recorded as published is never published
// again, and one whose publication was not recorded is published again
// by whoever takes the job over, which the publisher makes a no-op.
func (r *resultSender) run(j Job) {
	resp := j.Response()
	for n := 1; ; n++ {
		ctx, cancel := context.WithTimeout(r.ctx, resultAttemptTimeout)
		err := r.pub.PublishResult(ctx, j.Result.Subject, resp)
		cancel()
		if err == nil {
			break
		}
		r.log.Warn("publishing a durable request's result; retrying", "job", j.ID, "subject", j.Result.Subject, "attempt", n, "err", err)
		if !sleepUntil(r.ctx, time.Now().Add(resultBackoff(n))) {
			return
		}
	}
	j.Result.State, j.Result.PublishedAt = ResultPublished, time.Now().UTC()
	for n := 1; ; n++ {
		ctx, cancel := context.WithTimeout(r.ctx, resultAttemptTimeout)
		err := r.store.update(ctx, &j)
		cancel()
		if err == nil {
			snapshot := j.clone()
			r.feed.Publish(j.ID, Update{Job: &snapshot})
			return
		}
		if errors.Is(err, errLeaseLost) {
			return // the router that took the job over records it
		}
		r.log.Warn("recording a published result; retrying", "job", j.ID, "attempt", n, "err", err)
		if !sleepUntil(r.ctx, time.Now().Add(resultBackoff(n))) {
			return
		}
	}
}

// resultBackoff is the wait after n failed attempts: 100 ms doubling to
// 5 s, less a random part of up to half, so that a NATS server that fails
// over for a few seconds is retried soon, and one that stays away is not
// hammered.
func resultBackoff(n int) time.Duration {
	d := 100 * time.Millisecond
	for i := 1; i < n && d < 5*time.Second; i++ {
		d *= 2
	}
	d = min(d, 5*time.Second)
	return d/2 + rand.N(d/2+1)
}
