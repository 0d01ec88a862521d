package router_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/task"
)

// onePlan is a one-step plan, for routers in tests that have no planner.
const onePlan = `{"tasks": [{"id": "t1", "capability": "chat", "input": "hi", "deps": []}]}`

func (e *env) serve() *nats.Conn {
	e.t.Helper()
	stop, err := e.router.Serve(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(stop)
	nc, err := e.bus.Connect("producer")
	if err != nil {
		e.t.Fatal(err)
	}
	return nc
}

// A failed request's reply carries NATS services' error headers, so
// natscli and other service clients see it failed without parsing it.
func TestFailedRequestReplyHasServiceErrorHeaders(t *testing.T) {
	e := newEnv(t, router.Config{})
	nc := e.serve()
	m, err := nc.Request(task.SubjectRequest, []byte(`{"input": ""}`), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Header.Get(micro.ErrorCodeHeader); got != "400" {
		t.Errorf("%s = %q, want 400", micro.ErrorCodeHeader, got)
	}
	if m.Header.Get(micro.ErrorHeader) == "" {
		t.Errorf("no %s header", micro.ErrorHeader)
	}
	e.executor("x1", served("m", echo(0, nil), 1, "chat"))
	ok, err := nc.Request(task.SubjectRequest, []byte(`{"input": "hi", "plan": `+onePlan+`}`), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if ok.Header.Get(micro.ErrorHeader) != "" {
		t.Errorf("a successful reply has error headers: %v", ok.Header)
	}
}

// A producer could make the router publish its Response on a subject the
// producer itself may not publish to: on tr.v1.cancel.<id> it cancelled
// that request at the executors.
func TestReplyToReservedSubjectIsNotAnswered(t *testing.T) {
	e := newEnv(t, router.Config{})
	nc := e.serve()
	victim, err := nc.SubscribeSync(task.CancelSubject("req_victim"))
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.PublishRequest(task.SubjectRequest, task.CancelSubject("req_victim"), []byte(`{"input": ""}`)); err != nil {
		t.Fatal(err)
	}
	// An answer to a later request proves the router has read the first.
	if _, err := nc.Request(task.SubjectRequest, []byte(`{"input": ""}`), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if m, err := victim.NextMsg(300 * time.Millisecond); err == nil {
		t.Fatalf("the router published on %s: %s", m.Subject, m.Data)
	}
}

// events_subject sends a request's events to the producer's own inbox,
// and not to tr.v1.events.<id>, which only observers may read.
func TestEventsGoToTheRequestsEventsSubject(t *testing.T) {
	e := newEnv(t, router.Config{})
	nc := e.serve()
	e.executor("x1", served("m", echo(0, nil), 1, "chat"))
	mine, err := nc.SubscribeSync("_INBOX.prod.events")
	if err != nil {
		t.Fatal(err)
	}
	shared, err := nc.SubscribeSync(task.SubjectEventsPrefix + ">")
	if err != nil {
		t.Fatal(err)
	}
	req := `{"id": "req_ev", "input": "hi", "plan": ` + onePlan + `, "events_subject": "_INBOX.prod.events"}`
	if _, err := nc.Request(task.SubjectRequest, []byte(req), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	m, err := mine.NextMsg(2 * time.Second)
	if err != nil {
		t.Fatalf("no event on the events subject: %v", err)
	}
	var ev task.Event
	if err := json.Unmarshal(m.Data, &ev); err != nil || ev.Type != task.EventPlanned || ev.RequestID != "req_ev" {
		t.Fatalf("first event %s: %v", m.Data, err)
	}
	if m, err := shared.NextMsg(200 * time.Millisecond); err == nil {
		t.Fatalf("an event also went to %s", m.Subject)
	}
	bad := `{"input": "hi", "events_subject": "tr.v1.cancel.req_victim"}`
	resp, err := nc.Request(task.SubjectRequest, []byte(bad), 5*time.Second)
	if err != nil || resp.Header.Get(micro.ErrorCodeHeader) != "400" {
		t.Fatalf("a reserved events_subject: %v %s", err, resp.Data)
	}
}

// The router is a NATS service: discovery shows its endpoint, and its
// stats count requests and errors.
func TestRouterIsANATSService(t *testing.T) {
	e := newEnv(t, router.Config{Version: "1.2.3"})
	nc := e.serve()
	if _, err := nc.Request(task.SubjectRequest, []byte(`{"input": ""}`), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	m, err := nc.Request("$SRV.INFO."+router.ServiceName, nil, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var info micro.Info
	if err := json.Unmarshal(m.Data, &info); err != nil || info.Version != "1.2.3" || len(info.Endpoints) != 1 ||
		info.Endpoints[0].Subject != task.SubjectRequest || info.Endpoints[0].QueueGroup != router.ServeQueue {
		t.Fatalf("info %s: %v", m.Data, err)
	}
	m, err = nc.Request("$SRV.STATS."+router.ServiceName+"."+info.ID, nil, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var stats micro.Stats
	if err := json.Unmarshal(m.Data, &stats); err != nil || len(stats.Endpoints) != 1 {
		t.Fatalf("stats %s: %v", m.Data, err)
	}
	if s := stats.Endpoints[0]; s.NumRequests != 1 || s.NumErrors != 1 || s.LastError == "" || s.ProcessingTime <= 0 {
		t.Fatalf("endpoint stats %+v", s)
	}
}
