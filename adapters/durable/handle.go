package durable

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/taskrouter/taskrouter/adapters/httpapi/jobs"
	"github.com/taskrouter/taskrouter/task"
)

// opTimeout bounds one call to the job store or to JetStream.
const opTimeout = 10 * time.Second

// handle takes one delivered request: it makes sure the request's job is
// stored, then holds the message until the job has settled and acks it.
func (c *Consumer) handle(msg jetstream.Msg) {
	defer func() { <-c.held }()
	meta, err := msg.Metadata()
	if err != nil {
		c.cfg.Logger.Error("a message on the durable requests' consumer has no JetStream metadata; dropping it", "subject", msg.Subject(), "err", err)
		_ = msg.Term()
		return
	}
	d := read(msg, meta, c.cfg.Limits, int(c.maxDeliver.Load()))
	if d.badMsgID != "" {
		c.cfg.Logger.Warn("a durable request's message id is not a job id; its job fails", "producer", d.producer, "msg_id", d.badMsgID, "job", d.spec.ID)
	}
	j, err := c.record(d)
	switch {
	case errors.Is(err, errTaken):
		c.refuse(d)
	case err != nil:
		c.retryLater(d, err)
	case d.last:
		// JetStream delivers it no more: the job store carries it from here.
		c.ack(d)
	default:
		c.hold(d, j)
	}
}

// errTaken: the request's id is the id of another producer's job.
var errTaken = errors.New("durable: the job id is taken by another producer's request")

// record stores the request's job, or finds it stored by an earlier
// delivery, or by the same producer's earlier request with the same id
// (which it then answers, without running anything twice).
func (c *Consumer) record(d delivery) (jobs.Job, error) {
	// A request fetched while Close begins is still recorded, or given back.
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	j, err := c.cfg.Jobs.Submit(ctx, d.spec)
	if errors.Is(err, jobs.ErrTooLarge) {
		d.spec.Request = task.Request{}
		d.spec.Fail = task.Errorf(task.CodeTooLarge, "the request is too large for the job store (%v); send a smaller input, or raise the NATS server's max_payload", err)
		j, err = c.cfg.Jobs.Submit(ctx, d.spec)
	}
	if !errors.Is(err, jobs.ErrExists) {
		return j, err
	}
	if j, err = c.cfg.Jobs.Get(ctx, d.spec.ID, ""); err != nil {
		return j, err
	}
	if j.Source != d.spec.Source || j.Result == nil || j.Result.Subject != d.spec.ResultSubject {
		return j, errTaken
	}
	return j, nil
}

// refuse answers a request whose id another producer's job has, without
// a job: the other job is not this producer's to see.
func (c *Consumer) refuse(d delivery) {
	c.cfg.Logger.Warn("a durable request's id is taken by another producer's job; refusing it", "producer", d.producer, "job", d.spec.ID)
	resp := task.Response{ID: d.spec.ID, Subtasks: []task.SubtaskState{}, Error: task.Errorf(task.CodeInvalidRequest,
		"the job id %s (the request's Nats-Msg-Id) is taken by another producer's request; give every request an id of its own, such as a UUID", d.spec.ID)}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := c.cfg.Results.PublishResult(ctx, d.spec.ResultSubject, resp); err != nil {
		c.retryLater(d, err)
		return
	}
	c.ack(d)
}

// retryLater gives a request this router could not record back to
// JetStream, to be delivered again after a while (at once while this
// router shuts down, to another). On its last delivery nothing can be
// given back: the request stays in the stream, JetStream's dead letter.
func (c *Consumer) retryLater(d delivery, err error) {
	if d.last {
		c.cfg.Logger.Error("a durable request was delivered for the last time and could not be recorded; it stays in stream TR_JOBS, "+
			"which no longer delivers it (delete consumer taskrouter to have it delivered again)", "producer", d.producer, "job", d.spec.ID,
			"stream_seq", d.seq, "err", err)
		return
	}
	var delay time.Duration
	switch {
	case errors.Is(err, jobs.ErrClosed):
	case errors.Is(err, jobs.ErrQueueFull):
		delay = time.Second
	default:
		c.cfg.Logger.Warn("recording a durable request; it will be delivered again", "producer", d.producer, "job", d.spec.ID, "err", err)
		delay = 2 * time.Second
	}
	_ = d.msg.NakWithDelay(delay)
}

// hold keeps the request's message, with in-progress acks every third of
// the ack wait, until its job has settled (ended, and its result
// published), wherever it runs; then acks it. When Close gives it back,
// it naks it, so that another router holds it at once.
func (c *Consumer) hold(d delivery, j jobs.Job) {
	settled := make(chan struct{}, 1)
	notify := func(u jobs.Update) {
		if u.Job != nil && u.Job.Settled() {
			select {
			case settled <- struct{}{}:
			default:
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	latest, stop, err := c.cfg.Jobs.Follow(ctx, d.spec.ID, "", notify)
	cancel()
	if err == nil {
		defer stop()
		j = latest
	}
	tick := time.NewTicker(time.Duration(c.ackWait.Load()) / 3)
	defer tick.Stop()
	for !j.Settled() {
		select {
		case <-settled:
			c.ack(d)
			return
		case <-c.release:
			_ = d.msg.Nak()
			return
		case <-tick.C:
			_ = d.msg.InProgress()
			j = c.current(d, j)
		}
	}
	c.ack(d)
}

// current reads the job again, for the update the feed may have lost; a
// job gone from the store (expired while held) is stored again.
func (c *Consumer) current(d delivery, j jobs.Job) jobs.Job {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	latest, err := c.cfg.Jobs.Get(ctx, d.spec.ID, "")
	if errors.Is(err, jobs.ErrNotFound) {
		latest, err = c.cfg.Jobs.Submit(ctx, d.spec)
	}
	if err != nil {
		return j
	}
	return latest
}

// ack tells JetStream the request is done, and waits for it to say it
// heard: a lost ack would deliver the request again (to a router that
// would find its job settled and ack it).
func (c *Consumer) ack(d delivery) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := d.msg.DoubleAck(ctx); err != nil {
		c.cfg.Logger.Warn("acknowledging a durable request; it will be delivered again and found answered", "job", d.spec.ID, "err", err)
	}
}
