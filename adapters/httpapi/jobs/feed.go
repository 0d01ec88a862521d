package jobs

import (
	"encoding/json"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/task"
)

// Subjects of the jobs feed on NATS.
const (
	// SubjectEventsPrefix + job id carries the job's Updates as JSON.
	SubjectEventsPrefix = task.SubjectJobEventsPrefix
	// SubjectCancelPrefix + job id asks whichever router runs the job to
	// cancel it; the body is the job id too. (It was tr.v1.jobs.cancel,
	// a subject the durable requests' stream on tr.v1.jobs.* would keep.)
	SubjectCancelPrefix = task.SubjectJobCancelPrefix
)

// Feed carries a job's updates to whoever follows it.
type Feed interface {
	Publish(id string, u Update)
	// Subscribe calls fn with every later update of the job until stop is
	// called. fn must not block.
	Subscribe(id string, fn func(Update)) (stop func(), err error)
}

// Broadcast tells the other routers on the same NATS to cancel a job.
type Broadcast interface {
	RequestCancel(id string) error
	// OnCancel calls fn with the id of every cancellation requested.
	OnCancel(fn func(id string)) (stop func(), err error)
}

// MemoryFeed is a Feed within one process.
type MemoryFeed struct {
	mu   sync.Mutex
	next int
	subs map[string]map[int]func(Update)
}

var _ Feed = (*MemoryFeed)(nil)

// NewMemoryFeed returns an empty feed.
func NewMemoryFeed() *MemoryFeed { return &MemoryFeed{subs: map[string]map[int]func(Update){}} }

// Publish implements Feed.
func (f *MemoryFeed) Publish(id string, u Update) {
	f.mu.Lock()
	fns := make([]func(Update), 0, len(f.subs[id]))
	for _, fn := range f.subs[id] {
		fns = append(fns, fn)
	}
	f.mu.Unlock()
	for _, fn := range fns {
		fn(u)
	}
}

// Subscribe implements Feed.
func (f *MemoryFeed) Subscribe(id string, fn func(Update)) (func(), error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	n := f.next
	if f.subs[id] == nil {
		f.subs[id] = map[int]func(Update){}
	}
	f.subs[id][n] = fn
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.subs[id], n)
		if len(f.subs[id]) == 0 {
			delete(f.subs, id)
		}
	}, nil
}

// NATSFeed is a Feed and a Broadcast over NATS, shared by every router on
// the same servers. Updates are best effort, as progress events are.
type NATSFeed struct {
	nc *nats.Conn
}

var (
	_ Feed      = NATSFeed{}
	_ Broadcast = NATSFeed{}
)

// NewNATSFeed returns a feed over nc.
func NewNATSFeed(nc *nats.Conn) NATSFeed { return NATSFeed{nc: nc} }

// Publish implements Feed.
func (f NATSFeed) Publish(id string, u Update) {
	data, err := json.Marshal(u)
	if err != nil {
		return
	}
	_ = f.nc.Publish(SubjectEventsPrefix+task.EscapeToken(id), data)
}

// Subscribe implements Feed.
func (f NATSFeed) Subscribe(id string, fn func(Update)) (func(), error) {
	sub, err := f.nc.Subscribe(SubjectEventsPrefix+task.EscapeToken(id), func(m *nats.Msg) {
		var u Update
		if task.CheckJSONDepth(m.Data, task.MaxWireJSONDepth) == nil && json.Unmarshal(m.Data, &u) == nil {
			fn(u)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("following job %s: %w", id, err)
	}
	// The subscription must be in place at the server before the caller
	// reads the job's current state, or updates in between are lost.
	if err := f.nc.Flush(); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("following job %s: %w", id, err)
	}
	return func() { _ = sub.Unsubscribe() }, nil
}

// RequestCancel implements Broadcast.
func (f NATSFeed) RequestCancel(id string) error {
	if err := f.nc.Publish(SubjectCancelPrefix+task.EscapeToken(id), []byte(id)); err != nil {
		return fmt.Errorf("requesting the cancellation of job %s: %w", id, err)
	}
	return nil
}

// OnCancel implements Broadcast.
func (f NATSFeed) OnCancel(fn func(id string)) (func(), error) {
	sub, err := f.nc.Subscribe(SubjectCancelPrefix+"*", func(m *nats.Msg) { fn(string(m.Data)) })
	if err != nil {
		return nil, fmt.Errorf("subscribing to %s*: %w", SubjectCancelPrefix, err)
	}
	if err := f.nc.Flush(); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("subscribing to %s*: %w", SubjectCancelPrefix, err)
	}
	return func() { _ = sub.Unsubscribe() }, nil
}
