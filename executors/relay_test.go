package executors_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/task"
)

// relayer relays a Work's body as three scripted chunks, or answers
// Generate, saying which it did.
type relayer struct{ big bool }

func (relayer) Generate(_ context.Context, w task.Work, _ func(string)) (task.Output, error) {
	return task.Output{Text: "generated from " + w.Input + " after " + string(rune('0'+len(w.Context)))}, nil
}

func (r relayer) Relay(_ context.Context, w *task.Work, chunk func([]byte, string)) (task.Output, error) {
	if r.big {
		return task.Output{Text: strings.Repeat("x", 9<<20)}, nil
	}
	for _, word := range []string{"one", " two", ""} {
		if chunk != nil {
			chunk([]byte(`{"choices":[{"index":0,"delta":{"content":"`+word+`"}}],"model":"up"}`), word)
		}
	}
	return task.Output{Text: "one two", Body: json.RawMessage(`{"relayed":` + string(w.Body) + `}`)}, nil
}

// sendWork dispatches w and returns a channel of its replies.
func (h harness) sendWork(t *testing.T, w task.Work) <-chan task.Reply {
	t.Helper()
	out := make(chan task.Reply, 16)
	inbox := nats.NewInbox()
	if _, err := h.nc.Subscribe(inbox, func(m *nats.Msg) {
		var r task.Reply
		if err := json.Unmarshal(m.Data, &r); err != nil {
			t.Errorf("decoding reply: %v", err)
		}
		out <- r
	}); err != nil {
		t.Fatal(err)
	}
	w.Model, w.Capability = "m", "x"
	data, _ := json.Marshal(w)
	if err := h.nc.PublishRequest(task.ModelSubject("m"), inbox, data); err != nil {
		t.Fatal(err)
	}
	return out
}

// Work with a body goes to a model that relays it; someone following it
// gets every upstream chunk with its text, as it comes.
func TestBodyIsRelayedChunkByChunk(t *testing.T) {
	h := start(t, relayer{}, 2, 4)
	body := json.RawMessage(`{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	replies := h.sendWork(t, task.Work{RequestID: "r1", SubtaskID: "t1", Input: "hi", Body: body, Stream: true})
	if r := next(t, replies); r.Type != task.ReplyAccepted {
		t.Fatalf("first reply %+v", r)
	}
	var text strings.Builder
	for i := range 3 {
		r := next(t, replies)
		if r.Type != task.ReplyProgress || !strings.Contains(string(r.Chunk), `"model":"up"`) {
			t.Fatalf("progress %d = %+v", i, r)
		}
		text.WriteString(r.Delta)
	}
	r := next(t, replies)
	if r.Type != task.ReplyResult || text.String() != "one two" || !strings.Contains(string(r.Output.Body), `"relayed":{"model":"m"`) {
		t.Fatalf("result %+v after %q", r, text.String())
	}
	// Nobody follows: no chunks, the answer only.
	replies = h.sendWork(t, task.Work{RequestID: "r2", SubtaskID: "t1", Input: "hi", Body: body})
	if r := answer(t, replies); r.Type != task.ReplyResult {
		t.Fatalf("unfollowed work sent %+v", r)
	}
	// No body: Generate.
	replies = h.sendWork(t, task.Work{RequestID: "r3", SubtaskID: "t1", Input: "hi"})
	if r := answer(t, replies); r.Output == nil || r.Output.Text != "generated from hi after 0" {
		t.Fatalf("plain work answered %+v", r)
	}
}

// A model that cannot relay gets work with a body unpacked: the
// conversation around its input, as it would have come without one.
func TestBodyIsUnpackedForOtherModels(t *testing.T) {
	works := make(chan task.Work, 1)
	m := funcModel(func(_ context.Context, w task.Work, _ func(string)) (task.Output, error) {
		works <- w
		return task.Output{Text: "ok"}, nil
	})
	h := start(t, m, 1, 4)
	body := json.RawMessage(`{"model":"m","temperature":0.5,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}`)
	replies := h.sendWork(t, task.Work{RequestID: "r1", SubtaskID: "t1", Input: "a\nb", Body: body})
	if r := answer(t, replies); r.Type != task.ReplyResult {
		t.Fatalf("reply %+v", r)
	}
	got := <-works
	if got.Input != "a\nb" || len(got.Context) != 1 || got.Context[0].Content != "Be brief." || got.Sampling == nil || *got.Sampling.Temperature != 0.5 {
		t.Fatalf("the model got %+v", got)
	}
}

// An answer larger than NATS takes is an error that says so, not a
// silence the router would take for a dead executor.
func TestTooLargeAnswerIsAnError(t *testing.T) {
	h := start(t, relayer{big: true}, 1, 4)
	replies := h.sendWork(t, task.Work{RequestID: "r1", SubtaskID: "t1", Input: "hi", Body: json.RawMessage(`{"messages":[]}`)})
	r := answer(t, replies)
	if r.Type != task.ReplyError || r.Error.Code != task.CodeTooLarge || !strings.Contains(r.Error.Message, "max_payload") {
		t.Fatalf("reply %+v", r)
	}
}

type funcModel func(ctx context.Context, w task.Work, progress func(string)) (task.Output, error)

func (f funcModel) Generate(ctx context.Context, w task.Work, progress func(string)) (task.Output, error) {
	return f(ctx, w, progress)
}
