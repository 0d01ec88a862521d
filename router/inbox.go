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
// Mailboxes are recycled: release makes sure no reply reaches one after.
type mailbox struct {
	token  string
	mu     sync.Mutex
	msgs   []*nats.Msg
	spare  []*nats.Msg // what take returned last, reused by the next take
	notify chan struct{}
}

var mailboxes = sync.Pool{New: func() any { return &mailbox{notify: make(chan struct{}, 1)} }}

// maxKeptReplies bounds the replies a recycled mailbox keeps room for: a
// long stream's backlog is left to the collector.
const maxKeptReplies = 64

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

// open returns a fresh reply subject and its mailbox; release it when done.
func (in *inbox) open() (subject string, box *mailbox) {
	var buf [64]byte
	subject = string(strconv.AppendUint(append(buf[:0], in.prefix...), in.next.Add(1), 36))
	box = mailboxes.Get().(*mailbox)
	box.token = subject[len(in.prefix):]
	in.mu.Lock()
	in.pending[box.token] = box
	in.mu.Unlock()
	return subject, box
}

// release forgets box's reply subject and recycles box. deliver appends
// and signals under in.mu, so once the subject is forgotten no reply can
// reach box: a late one is dropped, as it was before.
func (in *inbox) release(box *mailbox) {
	in.mu.Lock()
	delete(in.pending, box.token)
	in.mu.Unlock()
	box.token = ""
	select {
	case <-box.notify:
	default:
	}
	for _, msgs := range []*[]*nats.Msg{&box.msgs, &box.spare} {
		if cap(*msgs) > maxKeptReplies {
			*msgs = nil
		} else {
			clear((*msgs)[:cap(*msgs)])
			*msgs = (*msgs)[:0]
		}
	}
	mailboxes.Put(box)
}

func (in *inbox) deliver(msg *nats.Msg) {
	token := msg.Subject[len(in.prefix):]
	in.mu.Lock()
	defer in.mu.Unlock()
	box := in.pending[token]
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

// take returns the messages received since the last take, valid until
// the next.
func (b *mailbox) take() []*nats.Msg {
	b.mu.Lock()
	defer b.mu.Unlock()
	msgs := b.msgs
	clear(b.spare)
	b.msgs, b.spare = b.spare[:0], msgs
	return msgs
}

func (in *inbox) close() error { return in.sub.Unsubscribe() }
