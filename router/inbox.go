package router

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go"
)

// inbox multiplexes the replies of every dispatch over one wildcard
// subscription, so a dispatch costs no subscribe and unsubscribe round trip.
type inbox struct {
	prefix string
	sub    *nats.Subscription
	next   atomic.Uint64

	mu      sync.Mutex
	pending map[string]*mailbox
}

// mailbox collects the replies of one dispatch. The subscription's callback
// only appends and signals, so one slow dispatch never stalls the others.
type mailbox struct {
	mu     sync.Mutex
	msgs   []*nats.Msg
	notify chan struct{}
}

func newInbox(nc *nats.Conn) (*inbox, error) {
	in := &inbox{prefix: nc.NewInbox() + ".", pending: map[string]*mailbox{}}
	sub, err := nc.Subscribe(in.prefix+"*", in.deliver)
	if err != nil {
		return nil, fmt.Errorf("subscribing to the reply inbox: %w", err)
	}
	_ = sub.SetPendingLimits(-1, -1)
	in.sub = sub
	return in, nil
}

// open returns a fresh reply subject and its mailbox; close it when done.
func (in *inbox) open() (subject string, box *mailbox, close func()) {
	token := strconv.FormatUint(in.next.Add(1), 36)
	box = &mailbox{notify: make(chan struct{}, 1)}
	in.mu.Lock()
	in.pending[token] = box
	in.mu.Unlock()
	return in.prefix + token, box, func() {
		in.mu.Lock()
		delete(in.pending, token)
		in.mu.Unlock()
	}
}

func (in *inbox) deliver(msg *nats.Msg) {
	token := msg.Subject[len(in.prefix):]
	in.mu.Lock()
	box := in.pending[token]
	in.mu.Unlock()
	if box == nil {
		return // a late reply to a dispatch that was given up
	}
	box.mu.Lock()
	box.msgs = append(box.msgs, msg)
	box.mu.Unlock()
	select {
	case box.notify <- struct{}{}:
	default:
	}
}

// take returns the messages received since the last take.
func (b *mailbox) take() []*nats.Msg {
	b.mu.Lock()
	defer b.mu.Unlock()
	msgs := b.msgs
	b.msgs = nil
	return msgs
}

func (in *inbox) close() error { return in.sub.Unsubscribe() }
