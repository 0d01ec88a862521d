package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/task"
)

// remoteRouter sends requests to a running router over tr.v1.req, as a
// producer, and follows each one's progress on an events subject in its
// own inbox: what `ask --nats` and `mcp --nats` do.
type remoteRouter struct {
	nc  *nats.Conn
	url string
	// timeout bounds one request (10m).
	timeout time.Duration
}

// dialRouter connects to the NATS at url as a producer logged in with
// cfg's nats settings. close closes the connection.
func dialRouter(ctx context.Context, env *cliEnv, cfg Config, url string) (r *remoteRouter, close func(), err error) {
	cfg.ApplyEnv(env.getenv)
	cfg.NATS.URL, cfg.NATS.Listen = url, ""
	if err := cfg.Validate(); err != nil {
		return nil, nil, usageError{fmt.Sprintf("invalid config: %v", err)}
	}
	bc, err := busConfig(cfg, env.getenv, producerInbox(cfg.NATS), slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, nil, err
	}
	b, err := bus.Start(ctx, bc)
	if err != nil {
		return nil, nil, unavailableError{err}
	}
	nc, err := b.Connect("ask")
	if err != nil {
		_ = b.Close()
		return nil, nil, unavailableError{err}
	}
	return &remoteRouter{nc: nc, url: url, timeout: 10 * time.Minute}, func() { _ = b.Close() }, nil
}

// run sends req and returns the router's Response, passing its progress
// events to onEvent. When ctx ends first, it asks the router to cancel
// the request.
func (r *remoteRouter) run(ctx context.Context, req task.Request, onEvent func(task.Event)) (task.Response, error) {
	req.EventsSubject = r.nc.NewInbox()
	events, err := r.nc.Subscribe(req.EventsSubject, func(m *nats.Msg) {
		var ev task.Event
		if json.Unmarshal(m.Data, &ev) == nil {
			onEvent(ev)
		}
	})
	if err != nil {
		return task.Response{}, unavailableError{err}
	}
	eventsDone := events.StatusChanged(nats.SubscriptionClosed)
	defer func() {
		// Events arrive before the response on this connection; drain
		// so every one of them is handled before the answer.
		if events.Drain() == nil {
			select {
			case <-eventsDone:
			case <-time.After(time.Second):
			}
		}
	}()
	data, _ := json.Marshal(req)
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	msg, err := r.nc.RequestWithContext(ctx, task.SubjectRequest, data)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return task.Response{}, unavailableError{fmt.Errorf("no router answers %s on %s; start one with 'taskrouter serve'", task.SubjectRequest, r.url)}
	case err != nil:
		_ = r.nc.Publish(task.CancelSubject(req.ID), nil)
		return task.Response{}, fmt.Errorf("waiting for the router: %w", err)
	}
	var resp task.Response
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return task.Response{}, fmt.Errorf("decoding the router's response: %w", err)
	}
	return resp, nil
}

// Handle runs a request on the remote router for the MCP server: a
// router it cannot reach is the Response's error.
func (r *remoteRouter) Handle(ctx context.Context, req task.Request, onEvent func(task.Event)) task.Response {
	resp, err := r.run(ctx, req, onEvent)
	if err == nil {
		return resp
	}
	var un unavailableError
	e := task.AsError(err)
	if errors.As(err, &un) {
		e = task.Errorf(task.CodeUnavailable, "%s", err.Error())
	}
	return task.Response{ID: req.ID, Subtasks: []task.SubtaskState{}, Error: e}
}
