package router

import (
	"testing"

	"github.com/nats-io/nats.go"
)

// A released mailbox gets nothing more: a late reply to its subject is
// dropped, not handed to the dispatch that reuses the mailbox, and no
// signal of it is left behind.
func TestReleasedMailboxGetsNoLateReply(t *testing.T) {
	in := &inbox{prefix: "_INBOX.test.", pending: map[string]*mailbox{}}
	first, box := in.open()
	in.deliver(&nats.Msg{Subject: first, Data: []byte("1")})
	in.deliver(&nats.Msg{Subject: first, Data: []byte("2")})
	<-box.notify
	if msgs := box.take(); len(msgs) != 2 || string(msgs[1].Data) != "2" {
		t.Fatalf("took %v", msgs)
	}
	in.deliver(&nats.Msg{Subject: first, Data: []byte("3")}) // not taken before release
	in.release(box)
	for range 10 { // the pool may or may not give the same mailbox back
		second, next := in.open()
		if second == first {
			t.Fatalf("subject %s opened twice", first)
		}
		in.deliver(&nats.Msg{Subject: first, Data: []byte("late")})
		select {
		case <-next.notify:
			t.Fatalf("a new mailbox was signalled; it holds %v", next.take())
		default:
		}
		if msgs := next.take(); len(msgs) != 0 {
			t.Fatalf("a new mailbox holds %v", msgs)
		}
		in.deliver(&nats.Msg{Subject: second, Data: []byte("mine")})
		if msgs := next.take(); len(msgs) != 1 || string(msgs[0].Data) != "mine" {
			t.Fatalf("took %v", msgs)
		}
		in.release(next)
	}
	if len(in.pending) != 0 {
		t.Fatalf("%d mailboxes still pending", len(in.pending))
	}
}
