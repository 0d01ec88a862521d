package executors_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/task"
)

// toolModel is a Watcher and a Reporter, as an MCP server is: its spec
// changes when updates says so, and it reports progress apart from text.
type toolModel struct {
	updates chan task.ModelSpec
}

func (m toolModel) Generate(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
	return task.Output{}, task.Errorf(task.CodeInternal, "Generate called instead of GenerateReporting")
}

func (m toolModel) GenerateReporting(ctx context.Context, w task.Work, report func(task.Progress)) (task.Output, error) {
	if report != nil {
		report(task.Progress{Done: 1, Total: 2, Message: "half"})
	}
	return task.Output{Text: "tool done"}, nil
}

func (m toolModel) Watch(ctx context.Context, update func(task.ModelSpec)) {
	for {
		select {
		case <-ctx.Done():
			return
		case spec := <-m.updates:
			update(spec)
		}
	}
}

// A model whose spec changes is announced again, new capabilities and
// definitions included; a change of name is ignored.
func TestWatcherSpecIsAnnouncedAgain(t *testing.T) {
	m := toolModel{updates: make(chan task.ModelSpec)}
	h := start(t, m, 1, 8)
	next := task.ModelSpec{Name: "m", Backend: task.BackendMCP, Capabilities: []string{"x", "srv-echo"},
		Defines: []task.Capability{{Name: "srv-echo", Description: "Echoes"}}}
	m.updates <- task.ModelSpec{Name: "other", Capabilities: []string{"y"}}
	m.updates <- next
	deadline := time.Now().Add(5 * time.Second)
	for {
		spec, _ := h.reg.Spec("m")
		if len(spec.Defines) == 1 && spec.Has("srv-echo") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the registry still has %+v", spec)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, ok := h.reg.Spec("other"); ok {
		t.Error("a spec under another name was announced")
	}
}

// A Reporter's progress goes to the router as a progress reply with
// Progress set and no text, when the work is followed.
func TestReporterProgressReplies(t *testing.T) {
	h := start(t, toolModel{updates: make(chan task.ModelSpec)}, 1, 8)
	out := make(chan task.Reply, 16)
	inbox := nats.NewInbox()
	if _, err := h.nc.Subscribe(inbox, func(msg *nats.Msg) {
		var r task.Reply
		_ = json.Unmarshal(msg.Data, &r)
		out <- r
	}); err != nil {
		t.Fatal(err)
	}
	w, _ := json.Marshal(task.Work{RequestID: "r1", SubtaskID: "t1", Model: "m", Capability: "x", Stream: true})
	if err := h.nc.PublishRequest(task.ModelSubject("m"), inbox, w); err != nil {
		t.Fatal(err)
	}
	var got []task.Reply
	for r := range out {
		got = append(got, r)
		if r.Type == task.ReplyResult || r.Type == task.ReplyError {
			break
		}
	}
	if len(got) != 3 || got[1].Type != task.ReplyProgress || got[1].Progress == nil || *got[1].Progress != (task.Progress{Done: 1, Total: 2, Message: "half"}) ||
		got[1].Delta != "" || got[2].Output == nil || got[2].Output.Text != "tool done" {
		t.Fatalf("replies %+v, want accepted, progress 1/2 half, result", got)
	}
}

var _ executors.Watcher = toolModel{}
var _ executors.Reporter = toolModel{}
