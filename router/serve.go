package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"go.opentelemetry.io/otel/trace"

	"github.com/taskrouter/taskrouter/bus"
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
	svc, err := r.register()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	sub, err := r.nc.QueueSubscribe(task.SubjectRequest, ServeQueue, func(msg *nats.Msg) {
		r.serving.Add(1)
		go func() {
			defer r.serving.Done()
			r.serveOne(ctx, msg)
		}()
	})
	if err == nil {
		_ = sub.SetPendingLimits(-1, -1)
		err = flushChecked(r.nc)
	}
	if err != nil {
		svc.Stop()
		cancel()
		return nil, fmt.Errorf("subscribing to %s: %w", task.SubjectRequest, err)
	}
	closed := sub.StatusChanged(nats.SubscriptionClosed)
	return func() {
		if sub.IsValid() && sub.Drain() == nil {
			<-closed // no handler runs after this, so Wait cannot race an Add
		}
		r.serving.Wait()
		svc.Stop()
		cancel()
	}, nil
}

// ServiceName is the routers' name in NATS's service discovery.
const ServiceName = "taskrouter-router"

// register makes this router a NATS service, so `nats micro list`,
// `info` and `stats` show it with its requests, errors and their time.
func (r *Router) register() (*bus.Service, error) {
	svc, err := bus.StartService(r.nc, bus.ServiceConfig{
		Name: ServiceName, Version: r.cfg.Version,
		Description: "plans requests into subtasks, dispatches them to executors and merges the answers",
		Metadata:    map[string]string{"request_subject": task.SubjectRequest, "events_subject": task.SubjectEventsPrefix + "<request-id>"},
		Endpoints: []bus.EndpointConfig{{Name: "requests", Subject: task.SubjectRequest, QueueGroup: ServeQueue,
			Metadata: map[string]string{"request": "task.Request JSON", "response": "task.Response JSON"}}},
	})
	if err != nil {
		return nil, err
	}
	r.stats = svc.Endpoint("requests")
	return svc, nil
}

// flushChecked flushes nc and reports a subscription the server refused:
// NATS says so asynchronously, before the flush's answer.
func flushChecked(nc *nats.Conn) error {
	if err := nc.Flush(); err != nil {
		return err
	}
	if err := nc.LastError(); errors.Is(err, nats.ErrPermissionViolation) {
		return fmt.Errorf("the NATS server refused: %w; check this process's NATS user and its role", err)
	}
	return nil
}

func failure(e *task.Error) string {
	if e == nil {
		return ""
	}
	return string(e.Code) + ": " + e.Message
}

func (r *Router) serveOne(ctx context.Context, msg *nats.Msg) {
	start := time.Now()
	ctx, span := r.startIngressSpan(ctx, msg)
	resp := r.answer(ctx, msg)
	r.stats.Record(time.Since(start), failure(resp.Error))
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
	if err := task.CheckReplySubject(msg.Reply); err != nil {
		// A producer may not make the router write where it itself may
		// not: a Response on tr.v1.cancel.<id> would cancel that request.
		r.cfg.Logger.Warn("not answering a request whose reply subject is reserved", "request_id", resp.ID, "reply", msg.Reply, "err", err)
		return
	}
	data, err := json.Marshal(resp)
	if err != nil {
		r.cfg.Logger.Error("encoding response", "request_id", resp.ID, "err", err)
		return
	}
	out := &nats.Msg{Subject: msg.Reply, Data: data}
	if resp.Error != nil {
		out.Header = errorHeaders(resp.Error)
	}
	if err := r.nc.PublishMsg(out); err != nil {
		r.cfg.Logger.Warn("publishing response", "request_id", resp.ID, "err", err)
	}
}

func (r *Router) answer(ctx context.Context, msg *nats.Msg) task.Response {
	req, err := task.DecodeRequest(msg.Data, r.cfg.Limits)
	if id := msg.Header.Get(task.HeaderRequestID); req.ID == "" && id != "" {
		req.ID = id
	}
	req.Ingress = task.IngressNATS
	if err != nil {
		if req.ID == "" {
			req.ID = task.NewID("req_")
		}
		started := time.Now()
		resp := r.refuse(&req, started, err, nil) // live views see it refused
		r.ended(&req, &resp, started)
		return resp
	}
	return r.Handle(ctx, req, nil)
}

// errorHeaders are NATS services' error headers (micro's convention,
// which natscli shows): the message and an HTTP-like status code.
func errorHeaders(e *task.Error) nats.Header {
	h := nats.Header{}
	h.Set(micro.ErrorHeader, e.Message)
	h.Set(micro.ErrorCodeHeader, strconv.Itoa(e.Code.Status()))
	return h
}
