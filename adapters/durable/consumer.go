// Package durable is the ingress of durable requests: a producer publishes
// a Request on JetStream (tr.v1.jobs.<producer>, a work queue that keeps
// it while no router runs), routers take it through a shared pull
// consumer and run it as a job, the same job as POST /v1/jobs, and its
// Response is published on tr.v1.results.<producer>.<job id>, a stream
// that keeps it for a while for a producer that was away.
//
// A router holds a request's message, with in-progress acks, until the
// request's job has ended and its result is published, then acks it. A
// router that dies holding one leaves it to be delivered again; the job
// store is the source of truth: the next router finds the job, does not
// run it twice, and waits for it (another router takes over the job of a
// lost one through the jobs' leases).
package durable

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/taskrouter/taskrouter/adapters/httpapi/jobs"
	"github.com/taskrouter/taskrouter/task"
)

// Jobs runs durable requests; the jobs manager is one.
type Jobs interface {
	// Submit stores and queues a job, or returns jobs.ErrExists,
	// jobs.ErrQueueFull, jobs.ErrClosed, jobs.ErrTooLarge.
	Submit(ctx context.Context, spec jobs.Spec) (jobs.Job, error)
	Get(ctx context.Context, id, owner string) (jobs.Job, error)
	// Follow calls fn with every update of the job, then returns it.
	Follow(ctx context.Context, id, owner string, fn func(jobs.Update)) (jobs.Job, func(), error)
	// Room is how many more jobs Submit would accept now.
	Room() int
}

// Config configures a Consumer. Setup, Jobs and Results are required.
type Config struct {
	// Setup returns the routers' shared consumer of durable requests,
	// creating it (and its streams) when missing; it is called at start
	// and again whenever the consumer has gone (an operator deleted it).
	Setup func(ctx context.Context) (jetstream.Consumer, error)
	Jobs  Jobs
	// Results publishes the answers to requests refused before they
	// became jobs.
	Results jobs.ResultPublisher
	// Limits bound the requests, as on tr.v1.req.
	Limits task.Limits
	// MaxHeld bounds the requests this router holds at once (256).
	MaxHeld int
	// FetchWait is how long one pull waits for requests (2s); Close may
	// wait as long for the last one.
	FetchWait time.Duration
	Logger    *slog.Logger
}

// Consumer takes durable requests from JetStream and runs them as jobs.
type Consumer struct {
	cfg Config
	// ackWait and maxDeliver are the consumer's, as the server has them
	// (they change when the consumer is set up again).
	ackWait    atomic.Int64
	maxDeliver atomic.Int64

	held  chan struct{} // one token per request held
	fetch sync.WaitGroup
	holds sync.WaitGroup

	ctx        context.Context // ends when Close begins: no more fetching
	cancel     context.CancelFunc
	release    chan struct{} // closed when holders must give their requests back
	closeOnce  sync.Once
	lastErrLog time.Time
}

// Start sets up the consumer and starts taking requests; ctx bounds the
// setup only.
func Start(ctx context.Context, cfg Config) (*Consumer, error) {
	if cfg.Setup == nil || cfg.Jobs == nil || cfg.Results == nil {
		return nil, errors.New("durable: Setup, Jobs and Results are required")
	}
	cfg = cfg.withDefaults()
	cons, err := cfg.Setup(ctx)
	if err != nil {
		return nil, err
	}
	c := &Consumer{cfg: cfg, held: make(chan struct{}, cfg.MaxHeld), release: make(chan struct{})}
	c.useConsumer(cons)
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.fetch.Add(1)
	go c.fetchLoop(cons)
	return c, nil
}

func (cfg Config) withDefaults() Config {
	if cfg.MaxHeld <= 0 {
		cfg.MaxHeld = 256
	}
	if cfg.FetchWait <= 0 {
		cfg.FetchWait = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}

// useConsumer takes the ack wait and the delivery bound from the server's
// own view of the consumer.
func (c *Consumer) useConsumer(cons jetstream.Consumer) {
	info := cons.CachedInfo().Config
	if info.AckWait <= 0 {
		info.AckWait = 30 * time.Second
	}
	c.ackWait.Store(int64(info.AckWait))
	c.maxDeliver.Store(int64(info.MaxDeliver))
}

// Close stops taking requests, waits until ctx ends for the jobs of those
// held to settle (acking them), then gives the others back to JetStream
// for another router. It is idempotent.
func (c *Consumer) Close(ctx context.Context) error {
	c.closeOnce.Do(func() {
		c.cancel()
		c.fetch.Wait()
		done := make(chan struct{})
		go func() { c.holds.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			close(c.release)
			<-done
		}
	})
	return nil
}

// fetchLoop pulls as many requests as this router has room for, until
// Close.
func (c *Consumer) fetchLoop(cons jetstream.Consumer) {
	defer c.fetch.Done()
	for c.ctx.Err() == nil {
		n := c.reserve()
		if n == 0 {
			sleep(c.ctx, 50*time.Millisecond)
			continue
		}
		batch, err := cons.Fetch(n, jetstream.FetchMaxWait(c.cfg.FetchWait))
		if err == nil {
			got := 0
			for msg := range batch.Messages() {
				got++
				c.holds.Go(func() { c.handle(msg) })
			}
			err = batch.Error()
			c.unreserve(n - got)
		} else {
			c.unreserve(n)
		}
		if err != nil && !errors.Is(err, jetstream.ErrNoMessages) && c.ctx.Err() == nil {
			cons = c.recover(cons, err)
		}
	}
}

// reserve takes up to 64 of the places this router has for requests: no
// more than the jobs manager would queue now, nor than MaxHeld in all.
func (c *Consumer) reserve() int {
	want := min(64, c.cfg.Jobs.Room())
	n := 0
	for n < want {
		select {
		case c.held <- struct{}{}:
			n++
		default:
			return n
		}
	}
	return n
}

func (c *Consumer) unreserve(n int) {
	for range n {
		<-c.held
	}
}

// recover logs a failed pull (at most one line in 10 s, as NATS may be
// away for long), sets the consumer up again when it has gone, and waits
// a moment before the next pull.
func (c *Consumer) recover(cons jetstream.Consumer, err error) jetstream.Consumer {
	if time.Since(c.lastErrLog) > 10*time.Second {
		c.lastErrLog = time.Now()
		c.cfg.Logger.Warn("pulling durable requests; retrying", "err", err)
	}
	if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrConsumerDeleted) ||
		errors.Is(err, jetstream.ErrStreamNotFound) {
		ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
		defer cancel()
		if fresh, serr := c.cfg.Setup(ctx); serr == nil {
			c.cfg.Logger.Info("set the durable requests' consumer up again")
			c.useConsumer(fresh)
			return fresh
		} else if ctx.Err() == nil {
			c.cfg.Logger.Warn("setting the durable requests' consumer up again", "err", serr)
		}
	}
	sleep(c.ctx, 500*time.Millisecond)
	return cons
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// String names the consumer for logs.
func (c *Consumer) String() string {
	return fmt.Sprintf("durable requests (ack wait %s)", time.Duration(c.ackWait.Load()))
}
