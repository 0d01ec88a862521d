package jobs

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/adapters/httpapi/kv"
	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/task"
)

// deepRecord is a job record as anything that may write the shared
// bucket could store it, with a field nested 200 levels deep.
func deepRecord() []byte {
	return []byte(`{"id":"job_deep","status":"queued","x":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`)
}

// Job records and updates come from a store and a feed that every router
// on the NATS writes: one nested deeper than task.MaxWireJSONDepth is not
// decoded (encoding/json would read 10,000 levels).
func TestDeepJobRecordIsNotDecoded(t *testing.T) {
	store := kv.NewMemory(time.Hour)
	m, err := New(Config{Runner: blockRunner{release: make(chan struct{})}, Planner: onePlan{}, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	defer closeSoon(m)
	if _, err := store.Create(context.Background(), "job_deep", deepRecord()); err != nil {
		t.Fatal(err)
	}
	_, err = m.Get(context.Background(), "job_deep", "")
	if e := task.AsError(err); err == nil || e.Code != task.CodeInternal || !strings.Contains(err.Error(), "nested more than 144 levels deep") {
		t.Fatalf("Get = %v, want an internal error (the record is not the caller's) saying how deep it is", err)
	}
}

func TestDeepJobUpdateIsDropped(t *testing.T) {
	b, err := bus.Start(context.Background(), bus.Config{Name: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	nc, err := b.Connect("feed")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan Update, 4)
	stop, err := NewNATSFeed(nc).Subscribe("job_x", func(u Update) { got <- u })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	deep := `{"event":{"type":"progress","request_id":"r","text":"deep","x":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}}`
	_ = nc.Publish(SubjectEventsPrefix+"job_x", []byte(deep))
	_ = nc.Publish(SubjectEventsPrefix+"job_x", []byte(`{"event":{"type":"progress","request_id":"r","text":"plain"}}`))
	select {
	case u := <-got:
		if u.Event == nil || u.Event.Text != "plain" {
			t.Fatalf("first update passed on: %+v; the deep one should be dropped", u.Event)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no update")
	}
}
