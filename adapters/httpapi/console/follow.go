package console

import (
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/task"
)

// Follow records the requests other routers run from the events they
// publish on tr.v1.events.> (all of them with router.events: all), until
// stop is called. This router's own requests, which it observes already,
// are recognised and skipped.
func (rec *Recorder) Follow(nc *nats.Conn) (stop func(), err error) {
	sub, err := nc.Subscribe(task.SubjectEventsPrefix+">", func(m *nats.Msg) {
		if ev, ok := decodeEvent(m.Data); ok {
			rec.ObserveRemote(ev)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("subscribing to %s>: %w", task.SubjectEventsPrefix, err)
	}
	if err := nc.Flush(); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("subscribing to %s>: %w", task.SubjectEventsPrefix, err)
	}
	return func() { _ = sub.Unsubscribe() }, nil
}

// decodeEvent parses an event another router published; anything that
// is not one is ignored, as events are best effort.
func decodeEvent(data []byte) (task.Event, bool) {
	var ev task.Event
	if err := json.Unmarshal(data, &ev); err != nil || ev.RequestID == "" || ev.Type == "" {
		return task.Event{}, false
	}
	return ev, true
}
