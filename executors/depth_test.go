package executors_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/localmodel"
	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/task"
)

// Work nested 8,000,000 levels deep, published by any producer on the
// model's subject, killed the process in gjson's validator (issue 10),
// and four 1 MB ones grew an executor by 160 MB. Now each gets an
// invalid_request error reply, the heap stays small, and the executor
// serves the next subtask.
func TestDeepWorkGetsInvalidRequest(t *testing.T) {
	b, err := bus.Start(context.Background(), bus.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	enc, _ := b.Connect("executor")
	client, _ := b.Connect("client")
	spec := task.ModelSpec{Name: "local/calc", Backend: task.BackendLocal, Capabilities: []string{"calc"}, Concurrency: 1}
	ex, err := executors.Start(context.Background(), enc, executors.Config{ID: "e1", Announcer: registry.NewMemory(),
		Models: []executors.Served{{Spec: spec, Model: localmodel.Calc{}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ex.Stop)

	calc := &replies{nc: client}
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for _, doc := range [][]byte{
		bytes.Repeat([]byte("["), 8_000_000),
		bytes.Repeat([]byte(`{"a":`), 1_600_000),
		[]byte(`{"request_id":"r","subtask_id":"t1","input":"1+1","args":` + strings.Repeat("[", 150) + strings.Repeat("]", 150) + `}`),
	} {
		rep := calc.send(t, doc)
		if rep.Type != task.ReplyError || rep.Error == nil || rep.Error.Code != task.CodeInvalidRequest ||
			!strings.Contains(rep.Error.Message, "nested more than 144 levels deep") {
			t.Fatalf("reply to %.12s... = %+v, want an invalid_request error saying how deep", doc, rep)
		}
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grown := int64(after.StackSys) - int64(before.StackSys); grown > 64<<20 {
		t.Errorf("goroutine stacks grew by %d MB", grown>>20)
	}
	w, _ := json.Marshal(task.Work{RequestID: "r", SubtaskID: "t2", Model: "local/calc", Capability: "calc", Input: "2+3"})
	for rep := calc.send(t, w); ; rep = calc.next(t) {
		if rep.Type == task.ReplyResult {
			if rep.Output == nil || !strings.Contains(rep.Output.Text, "= 5") {
				t.Fatalf("result %+v", rep.Output)
			}
			break
		}
		if rep.Type == task.ReplyError {
			t.Fatalf("a normal subtask failed after the deep ones: %+v", rep.Error)
		}
	}
}

// replies follows the replies to subtasks published on local/calc.
type replies struct {
	nc *nats.Conn
	ch chan *nats.Msg
}

// send publishes doc on local/calc's subject and returns its first reply.
func (r *replies) send(t *testing.T, doc []byte) task.Reply {
	t.Helper()
	r.ch = make(chan *nats.Msg, 16)
	inbox := nats.NewInbox()
	sub, err := r.nc.ChanSubscribe(inbox, r.ch)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := r.nc.PublishRequest(task.ModelSubject("local/calc"), inbox, doc); err != nil {
		t.Fatal(err)
	}
	return r.next(t)
}

// next returns the next reply to the last subtask sent.
func (r *replies) next(t *testing.T) task.Reply {
	t.Helper()
	select {
	case m := <-r.ch:
		var rep task.Reply
		if err := json.Unmarshal(m.Data, &rep); err != nil {
			t.Fatal(err)
		}
		return rep
	case <-time.After(10 * time.Second):
		t.Fatal("no reply within 10s")
	}
	return task.Reply{}
}

// logLines is a slog handler that passes each record's message and
// attributes on, as one line.
type logLines chan string

func (l logLines) Enabled(context.Context, slog.Level) bool { return true }
func (l logLines) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l logLines) WithGroup(string) slog.Handler            { return l }
func (l logLines) Handle(_ context.Context, r slog.Record) error {
	line := r.Message
	r.Attrs(func(a slog.Attr) bool { line += " " + a.String(); return true })
	select {
	case l <- line:
	default:
	}
	return nil
}

// A cancel notice nested too deep is ignored, as a malformed one is,
// before encoding/json reads it.
func TestDeepCancelNoticeIsIgnored(t *testing.T) {
	b, err := bus.Start(context.Background(), bus.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	enc, _ := b.Connect("executor")
	client, _ := b.Connect("client")
	logs := make(logLines, 16)
	spec := task.ModelSpec{Name: "local/calc", Backend: task.BackendLocal, Capabilities: []string{"calc"}, Concurrency: 1}
	ex, err := executors.Start(context.Background(), enc, executors.Config{ID: "e1", Announcer: registry.NewMemory(),
		Models: []executors.Served{{Spec: spec, Model: localmodel.Calc{}}}, Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ex.Stop)
	notice := `{"subtasks":["t1"],"x":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`
	if err := client.Publish(task.CancelSubject("r1"), []byte(notice)); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case line := <-logs:
			if strings.Contains(line, "malformed cancel notice") {
				if !strings.Contains(line, "nested more than 128 levels deep") {
					t.Fatalf("log %q does not say how deep", line)
				}
				return
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the deep cancel notice was not refused")
		}
	}
}
