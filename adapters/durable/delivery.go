package durable

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/taskrouter/taskrouter/adapters/httpapi/jobs"
	"github.com/taskrouter/taskrouter/task"
)

// delivery is one delivery of a durable request: who sent it, the job it
// becomes, and whether JetStream will deliver it again.
type delivery struct {
	msg      jetstream.Msg
	producer string
	spec     jobs.Spec
	seq      uint64 // the request's sequence in the stream
	// badMsgID is the producer's message id when it is no job id.
	badMsgID string
	// last: JetStream delivers this request no more after this time.
	last bool
}

// read turns a message into the job it asks for. A request that cannot
// be run (an invalid message id, malformed JSON, over the limits) still
// becomes a job, a failed one, whose result tells its producer why.
func read(msg jetstream.Msg, meta *jetstream.MsgMetadata, lim task.Limits, maxDeliver int) delivery {
	producer, _ := task.ProducerOf(msg.Subject()) // the stream takes no other subjects
	d := delivery{msg: msg, producer: producer, seq: meta.Sequence.Stream,
		last: maxDeliver > 0 && meta.NumDelivered >= uint64(maxDeliver)}
	msgID := msg.Headers().Get(jetstream.MsgIDHeader)
	id, idErr := jobID(msgID, meta)
	d.spec = jobs.Spec{ID: id, Model: task.ModelTaskrouter, Source: Source(producer), ResultSubject: task.ResultSubject(producer, id)}
	if idErr != nil {
		d.spec.Fail, d.badMsgID = idErr, msgID
		return d
	}
	req, err := task.DecodeRequest(msg.Data(), lim)
	if err != nil {
		d.spec.Fail = task.AsError(err)
		return d
	}
	if req.Model != "" && req.Model != task.ModelTaskrouter {
		d.spec.Model = req.Model
	}
	d.spec.Request = req
	return d
}

// Source is what a durable request's job says of where it came from:
// "nats:<producer>", or "nats" from a producer with no name.
func Source(producer string) string {
	if producer == "" {
		return "nats"
	}
	return "nats:" + producer
}

// jobID is the job id of a request: its message id, which must be a job
// id (jobs.ValidID), or, without one, an id made from the request's place
// in the stream, the same at every delivery. A message id that is not a
// job id gets a made one too, and the error to fail its job with.
func jobID(msgID string, meta *jetstream.MsgMetadata) (string, *task.Error) {
	if msgID != "" && jobs.ValidID(msgID) {
		return msgID, nil
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%d/%d", meta.Sequence.Stream, meta.Timestamp.UnixNano()))
	id := "job_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:15]))
	if msgID == "" {
		return id, nil
	}
	return id, task.Errorf(task.CodeInvalidRequest,
		"the Nats-Msg-Id %.80q is not a job id: use 1-64 letters, digits, '-' and '_', starting with a letter or digit, such as a UUID; this request's job is %s", msgID, id)
}
