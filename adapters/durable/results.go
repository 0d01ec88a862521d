package durable

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"

	"github.com/taskrouter/taskrouter/adapters/httpapi/jobs"
	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/task"
)

// Results publishes durable requests' Responses on the results stream.
type Results struct {
	nc *nats.Conn
	js jetstream.JetStream
}

var _ jobs.ResultPublisher = (*Results)(nil)

// NewResults publishes over nc, as a router.
func NewResults(nc *nats.Conn) (*Results, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("opening JetStream: %w", err)
	}
	return &Results{nc: nc, js: js}, nil
}

// jsNoMessageFound is JetStream's error code for a message get that
// found none (JSNoMessageFoundErr).
const jsNoMessageFound = 10037

// PublishResult implements jobs.ResultPublisher. Its Nats-Msg-Id is the
// subject, one per producer and job id, so that JetStream drops a second
// publication within its duplicate window; and a result already on its
// subject, which a router may have published before it died, is not
// published again, however long ago.
func (r *Results) PublishResult(ctx context.Context, subject string, resp task.Response) error {
	if done, err := r.published(ctx, subject); err != nil || done {
		return err
	}
	data, err := json.Marshal(resp)
	if err != nil {
		return fmt.Errorf("encoding the result on %s: %w", subject, err)
	}
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, subject)
	if e := resp.Error; e != nil {
		msg.Header.Set(micro.ErrorHeader, e.Message)
		msg.Header.Set(micro.ErrorCodeHeader, strconv.Itoa(e.Code.Status()))
	}
	if _, err := r.js.PublishMsg(ctx, msg, jetstream.WithExpectStream(bus.ResultsStream)); err != nil {
		return fmt.Errorf("publishing the result on %s: %w", subject, err)
	}
	return nil
}

// published asks the results stream's leader whether a message is on
// subject (a direct get may be answered by a replica that lags).
func (r *Results) published(ctx context.Context, subject string) (bool, error) {
	req, err := json.Marshal(map[string]string{"last_by_subj": subject})
	if err != nil {
		return false, err
	}
	m, err := r.nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+bus.ResultsStream, req)
	if err != nil {
		return false, fmt.Errorf("looking for a result on %s: %w", subject, err)
	}
	var answer struct {
		Error *struct {
			Code        int    `json:"code"`
			ErrCode     int    `json:"err_code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(m.Data, &answer); err != nil {
		return false, fmt.Errorf("looking for a result on %s: %w", subject, err)
	}
	switch {
	case answer.Error == nil:
		return true, nil
	case answer.Error.ErrCode == jsNoMessageFound:
		return false, nil
	}
	return false, fmt.Errorf("looking for a result on %s: JetStream error %d (%d): %s", subject, answer.Error.Code, answer.Error.ErrCode, answer.Error.Description)
}
