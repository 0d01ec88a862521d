package bus_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/task"
)

// SetupDurable makes the work queue, the results stream and the shared
// consumer; run again with other settings, it updates them in place.
// The work queue deduplicates by message id, takes producers' subjects,
// and keeps nothing of the jobs feed between routers.
func TestSetupDurable(t *testing.T) {
	b := start(t, bus.Config{})
	nc, err := b.Connect("setup")
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := bus.SetupDurable(ctx, js, bus.Durable{}); err != nil {
		t.Fatal(err)
	}
	c, err := bus.SetupDurable(ctx, js, bus.Durable{AckWait: 7 * time.Second, ResultsTTL: time.Hour})
	if err != nil {
		t.Fatalf("setting up again with other settings: %v", err)
	}
	if got := c.CachedInfo().Config; got.AckWait != 7*time.Second || got.MaxDeliver != 10 || got.AckPolicy != jetstream.AckExplicitPolicy {
		t.Fatalf("consumer %+v", got)
	}
	rs, err := js.Stream(ctx, bus.ResultsStream)
	if err != nil {
		t.Fatal(err)
	}
	if got := rs.CachedInfo().Config; got.MaxAge != time.Hour || !got.AllowDirect || got.Duplicates != 2*time.Minute {
		t.Fatalf("results stream %+v", got)
	}
	for _, subject := range []string{task.SubjectJobs, task.JobsSubject("billing-app")} {
		first, err := js.PublishMsg(ctx, &nats.Msg{Subject: subject, Data: []byte(`{"input":"x"}`), Header: nats.Header{jetstream.MsgIDHeader: {"id-" + subject}}})
		if err != nil {
			t.Fatalf("publishing to %s: %v", subject, err)
		}
		again, err := js.PublishMsg(ctx, &nats.Msg{Subject: subject, Data: []byte(`{"input":"x"}`), Header: nats.Header{jetstream.MsgIDHeader: {"id-" + subject}}})
		if err != nil || !again.Duplicate || again.Sequence != first.Sequence || first.Stream != bus.JobsStream {
			t.Fatalf("publishing %s twice: %+v then %+v, %v", subject, first, again, err)
		}
	}
	for _, subject := range []string{task.SubjectJobEventsPrefix + "job_1", task.SubjectJobCancelPrefix + "job_1"} {
		if err := nc.Publish(subject, []byte("job_1")); err != nil {
			t.Fatal(err)
		}
	}
	_ = nc.Flush()
	jsInfo, err := js.Stream(ctx, bus.JobsStream)
	if err != nil {
		t.Fatal(err)
	}
	if n := jsInfo.CachedInfo().State.Msgs; n != 2 {
		t.Fatalf("the work queue holds %d messages, want the 2 requests", n)
	}
}

// Replicas beyond one server are refused by a lone server, with its reason.
func TestSetupDurableReplicasNeedACluster(t *testing.T) {
	b := start(t, bus.Config{})
	nc, err := b.Connect("setup")
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := bus.SetupDurable(ctx, js, bus.Durable{Replicas: 3}); err == nil {
		t.Fatal("a lone server accepted streams of 3 replicas")
	}
}
