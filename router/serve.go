package router

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/trace"

	"github.com/taskrouter/taskrouter/task"
	"github.com/taskrouter/taskrouter/telemetry"
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
	if id := msg.Header.Get(task.HeaderRequestID); req.ID == "" && id != "" {
		req.ID = id
	}
	req.Ingress = task.IngressNATS
	ctx, span := r.startIngressSpan(ctx, msg)
	var resp task.Response
	if err != nil {
		resp = task.Response{ID: req.ID, Subtasks: []task.SubtaskState{}, Error: task.AsError(err)}
		r.ended(req, resp, time.Now())
	} else {
		resp = r.Handle(ctx, req, nil)
	}
	if span != nil {
		span.SetAttributes(telemetry.AttrRequestID.String(resp.ID), telemetry.AttrStatus.String(string(statusOf(resp))))
		endSpan(span, resp.Error)
	}
	r.respond(msg, resp)
}

// startIngressSpan starts the span of a request received on tr.v1.req,
// as a child of the producer's traceparent header when it sent one; nil
// when tracing is off.
func (r *Router) startIngressSpan(ctx context.Context, msg *nats.Msg) (context.Context, trace.Span) {
	if r.cfg.Tracer == nil {
		return ctx, nil
	}
	tp := msg.Header.Get(telemetry.HeaderTraceparent)
	if tp == "" {
		tp = msg.Header.Get("Traceparent")
	}
	ctx = telemetry.ContextWithTraceparent(ctx, tp)
	return r.cfg.Tracer.Start(ctx, "process "+task.SubjectRequest, trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(telemetry.AttrMessagingSystem.String("nats"), telemetry.AttrMessagingOperation.String("process"),
			telemetry.AttrMessagingDestination.String(task.SubjectRequest), telemetry.AttrIngress.String(task.IngressNATS)))
}

// respond sends a Response to the message's reply subject.
func (r *Router) respond(msg *nats.Msg, resp task.Response) {
	if msg.Reply == "" {
		r.cfg.Logger.Warn("request without a reply subject; its response goes to events only", "request_id", resp.ID)
		return
	}
	data, err := json.Marshal(resp)
	if err != nil {
		r.cfg.Logger.Error("encoding response", "request_id", resp.ID, "err", err)
		return
	}
	if err := r.nc.Publish(msg.Reply, data); err != nil {
		r.cfg.Logger.Warn("publishing response", "request_id", resp.ID, "err", err)
	}
}
