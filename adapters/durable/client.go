package durable

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/task"
)

// ErrNoResult: no result is stored for the request (yet, or any more).
var ErrNoResult = errors.New("durable: no result")

// GetResult reads the result of the producer's durable request id with
// a direct get of its subject, which is all a producer's permissions
// allow; it returns ErrNoResult when there is none. nc must use the
// producer's inbox prefix.
func GetResult(ctx context.Context, nc *nats.Conn, producer, id string) (task.Response, error) {
	subject := task.ResultSubject(producer, id)
	m, err := nc.RequestWithContext(ctx, "$JS.API.DIRECT.GET."+bus.ResultsStream+"."+subject, nil)
	if err != nil {
		return task.Response{}, fmt.Errorf("getting the result on %s: %w", subject, err)
	}
	switch status := m.Header.Get("Status"); status {
	case "":
	case "404":
		return task.Response{}, fmt.Errorf("%w on %s", ErrNoResult, subject)
	default:
		return task.Response{}, fmt.Errorf("getting the result on %s: status %s %s", subject, status, m.Header.Get("Description"))
	}
	return decodeResult(subject, m.Data)
}

// AwaitResult waits until ctx ends for the result of the producer's
// durable request id: it subscribes to its subject, then gets it, in
// case it was published before.
func AwaitResult(ctx context.Context, nc *nats.Conn, producer, id string) (task.Response, error) {
	subject := task.ResultSubject(producer, id)
	sub, err := nc.SubscribeSync(subject)
	if err != nil {
		return task.Response{}, fmt.Errorf("following the result on %s: %w", subject, err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := nc.FlushWithContext(ctx); err != nil {
		return task.Response{}, fmt.Errorf("following the result on %s: %w", subject, err)
	}
	if resp, err := GetResult(ctx, nc, producer, id); !errors.Is(err, ErrNoResult) {
		return resp, err
	}
	m, err := sub.NextMsgWithContext(ctx)
	if err != nil {
		return task.Response{}, fmt.Errorf("waiting for the result on %s: %w", subject, err)
	}
	return decodeResult(subject, m.Data)
}

func decodeResult(subject string, data []byte) (task.Response, error) {
	var resp task.Response
	if err := task.CheckJSONDepth(data, task.MaxWireJSONDepth); err != nil {
		return resp, fmt.Errorf("decoding the result on %s: %w", subject, err)
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		return resp, fmt.Errorf("decoding the result on %s: %w", subject, err)
	}
	return resp, nil
}
