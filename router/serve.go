package router

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/task"
)

// ServeQueue is the queue group of routers answering tr.v1.req, so that
// several routers share the requests.
const ServeQueue = "taskrouter"

// Serve answers Requests on tr.v1.req until ctx ends or Close is called.
// Each request runs on its own goroutine; its Response goes to the
// message's reply subject, which may be an inbox of a request-reply or any
// subject a producer listens on. The returned func stops serving and waits
// for requests in progress.
func (r *Router) Serve(ctx context.Context) (stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	sub, err := r.nc.QueueSubscribe(task.SubjectRequest, ServeQueue, func(msg *nats.Msg) {
		r.serving.Add(1)
		go func() {
			defer r.serving.Done()
			r.serveOne(ctx, msg)
		}()
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("subscribing to %s: %w", task.SubjectRequest, err)
	}
	_ = sub.SetPendingLimits(-1, -1)
	if err := r.nc.Flush(); err != nil {
		cancel()
		return nil, fmt.Errorf("subscribing to %s: %w", task.SubjectRequest, err)
	}
	closed := sub.StatusChanged(nats.SubscriptionClosed)
	return func() {
		if sub.IsValid() && sub.Drain() == nil {
			<-closed // no handler runs after this, so Wait cannot race an Add
		}
		r.serving.Wait()
		cancel()
	}, nil
}

func (r *Router) serveOne(ctx context.Context, msg *nats.Msg) {
	req, err := task.DecodeRequest(msg.Data, r.cfg.Limits)
	var resp task.Response
	if err != nil {
		resp = task.Response{ID: req.ID, Subtasks: []task.SubtaskState{}, Error: task.AsError(err)}
	} else {
		if id := msg.Header.Get(task.HeaderRequestID); req.ID == "" && id != "" {
			req.ID = id
		}
		req.Ingress = task.IngressNATS
		resp = r.Handle(ctx, req, nil)
	}
	if msg.Reply == "" {
		r.cfg.Logger.Warn("request without a reply subject; its response goes to events only", "request", resp.ID)
		return
	}
	data, err := json.Marshal(resp)
	if err != nil {
		r.cfg.Logger.Error("encoding response", "request", resp.ID, "err", err)
		return
	}
	if err := r.nc.Publish(msg.Reply, data); err != nil {
		r.cfg.Logger.Warn("publishing response", "request", resp.ID, "err", err)
	}
}
