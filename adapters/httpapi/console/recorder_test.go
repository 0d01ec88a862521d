package console

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// at is t0 plus ms milliseconds.
func at(ms float64) time.Time { return t0.Add(time.Duration(ms * float64(time.Millisecond))) }

// story is the events of request "req_1": a plan of two parallel steps
// and a third after both; t2's first attempt is lost and retried; the
// answer is written by a merge model.
func story() []task.Event {
	plan := &task.Plan{Tasks: []task.Subtask{
		{ID: "t1", Capability: "summarize", Input: "text", Deps: []string{}},
		{ID: "t2", Capability: "keywords", Input: "text", Args: map[string]string{"count": "3"}, Deps: []string{}},
		{ID: "t3", Capability: "translate", Input: "{{t1}} {{t2}}", Deps: []string{"t1", "t2"}},
	}}
	e := func(ms float64, typ task.EventType, sub string, mod func(*task.Event)) task.Event {
		ev := task.Event{Type: typ, RequestID: "req_1", SubtaskID: sub, Time: at(ms)}
		if mod != nil {
			mod(&ev)
		}
		return ev
	}
	out := func(text string, cost float64) func(*task.Event) {
		return func(ev *task.Event) {
			ev.Output = &task.Output{Text: text, Usage: task.Usage{PromptTokens: 10, CompletionTokens: 5, CostUSD: cost}}
			ev.Model, ev.Attempt = "m-"+ev.SubtaskID, 1
		}
	}
	return []task.Event{
		e(2, task.EventPlanned, "", func(ev *task.Event) {
			ev.Plan, ev.Input, ev.Ingress, ev.ElapsedMs = plan, "Summarize, keywords, translate", task.IngressHTTP, 2
		}),
		e(3, task.EventDispatched, "t1", func(ev *task.Event) { ev.Model, ev.Attempt, ev.Input = "m-t1", 1, "text" }),
		e(3.5, task.EventDispatched, "t2", func(ev *task.Event) { ev.Model, ev.Attempt = "m-t2", 1 }),
		e(4, task.EventAccepted, "t1", func(ev *task.Event) { ev.Model, ev.Attempt, ev.Executor = "m-t1", 1, "x1" }),
		e(4.5, task.EventAccepted, "t2", func(ev *task.Event) { ev.Model, ev.Attempt, ev.Executor = "m-t2", 1, "x2" }),
		e(10, task.EventDone, "t1", out("a summary", 0.001)),
		e(12, task.EventRetry, "t2", func(ev *task.Event) {
			ev.Model, ev.Attempt, ev.Error = "m-t2", 1, &task.Error{Code: task.CodeLost, Message: "went silent"}
		}),
		e(12.5, task.EventDispatched, "t2", func(ev *task.Event) { ev.Model, ev.Attempt = "m-t2", 2 }),
		e(13, task.EventAccepted, "t2", func(ev *task.Event) { ev.Model, ev.Attempt, ev.Executor = "m-t2", 2, "x3" }),
		e(15, task.EventDone, "t2", func(ev *task.Event) { out("k1, k2", 0.002)(ev); ev.Attempt, ev.Executor = 2, "x3" }),
		e(16, task.EventDispatched, "t3", func(ev *task.Event) { ev.Model, ev.Attempt, ev.Input = "m-t3", 1, "a summary k1, k2" }),
		e(17, task.EventAccepted, "t3", func(ev *task.Event) { ev.Model, ev.Attempt = "m-t3", 1 }),
		e(20, task.EventFailed, "t3", func(ev *task.Event) {
			ev.Model, ev.Attempt, ev.Error = "m-t3", 1, &task.Error{Code: task.CodeBadInput, Message: "no"}
		}),
		e(21, task.EventDispatched, "merge", func(ev *task.Event) { ev.Model, ev.Attempt = "m-merge", 1 }),
		e(22, task.EventAccepted, "merge", func(ev *task.Event) { ev.Model, ev.Attempt = "m-merge", 1 }),
		e(24, task.EventDone, "merge", out("the answer", 0.004)),
		e(24.5, task.EventMerged, "", func(ev *task.Event) { ev.Text, ev.Model = "model", "m-merge" }),
		e(25, task.EventFinished, "", func(ev *task.Event) {
			ev.Ingress, ev.Text, ev.Model = task.IngressHTTP, "model", "m-merge"
			ev.Output = &task.Output{Text: "the answer", Usage: task.Usage{CostUSD: 0.007}}
			ev.Error = &task.Error{Code: task.CodeBadInput, Subtask: "t3", Message: "no"}
		}),
	}
}

func newTestRecorder(cfg Config, now *time.Time) *Recorder {
	cfg.Now = func() time.Time { return *now }
	return New(cfg)
}

func TestRecorderFollowsARequestThroughItsEvents(t *testing.T) {
	now := at(30)
	rec := newTestRecorder(Config{}, &now)
	for _, ev := range story() {
		rec.Observe(ev)
	}
	r, ok := rec.Get("req_1")
	if !ok {
		t.Fatal("req_1 is not kept")
	}
	if r.Status != statusDone || r.Ingress != task.IngressHTTP || r.Answer != "the answer" || r.Merge != "model" ||
		r.Model != "m-merge" || r.CostUSD != 0.007 || r.DurationMs != 25 || *r.PlanMs != 2 || r.Error == nil {
		t.Fatalf("request = %+v", r)
	}
	if len(r.Steps) != 4 || r.Steps[3].ID != "merge" || fmt.Sprint(r.Steps[3].Deps) != "[t3]" {
		t.Fatalf("steps = %+v, want t1..t3 and the merge step after the plan's sink", r.Steps)
	}
	t2 := r.Steps[1]
	if t2.Status != statusDone || t2.Output != "k1, k2" || t2.Executor != "x3" || t2.Args["count"] != "3" || len(t2.Attempts) != 2 {
		t.Fatalf("t2 = %+v", t2)
	}
	first, second := t2.Attempts[0], t2.Attempts[1]
	if first.Status != statusRetried || first.DispatchedMs != 3.5 || *first.AcceptedMs != 4.5 || *first.EndedMs != 12 ||
		first.Error.Code != task.CodeLost || first.Executor != "x2" {
		t.Fatalf("t2 attempt 1 = %+v", first)
	}
	if second.Status != statusDone || second.DispatchedMs != 12.5 || *second.AcceptedMs != 13 || *second.EndedMs != 15 {
		t.Fatalf("t2 attempt 2 = %+v", second)
	}
	if t3 := r.Steps[2]; t3.Status != statusFailed || t3.Input != "a summary k1, k2" || t3.Attempts[0].Status != statusFailed {
		t.Fatalf("t3 = %+v", t3)
	}
	m := rec.Models()
	if m["m-t2"].Subtasks != 1 || m["m-t2"].CostUSD != 0.002 || m["m-t3"].Failed != 1 || m["m-merge"].PromptTokens != 10 {
		t.Fatalf("model totals = %+v", m)
	}
}

func TestRecorderShowsARequestRunningUntilItFinishes(t *testing.T) {
	now := at(11)
	rec := newTestRecorder(Config{}, &now)
	evs := story()
	for _, ev := range evs[:6] { // t1 done, t2 running
		rec.Observe(ev)
	}
	s, _ := rec.Summary("req_1")
	if s.Status != statusRunning || s.Done != 1 || s.Subtasks != 3 || s.DurationMs != 11 || s.CostUSD != 0.001 {
		t.Fatalf("summary = %+v", s)
	}
	r, _ := rec.Get("req_1")
	if a := r.Steps[1].Attempts[0]; a.Status != "running" || a.EndedMs != nil {
		t.Fatalf("t2's attempt = %+v, want running with no end", a)
	}
}

func TestRecorderKeepsTheMostRecentWithinItsBounds(t *testing.T) {
	now := t0
	rec := newTestRecorder(Config{MaxRequests: 3, Window: time.Minute}, &now)
	for i := range 5 {
		rec.Observe(task.Event{Type: task.EventPlanned, RequestID: fmt.Sprint("req_", i), Time: now})
		now = now.Add(10 * time.Second)
	}
	if ids := listIDs(rec); ids != "req_4 req_3 req_2" {
		t.Fatalf("kept %s, want the three most recent, newest first", ids)
	}
	now = now.Add(35 * time.Second) // req_2 started 65s ago
	if ids := listIDs(rec); ids != "req_4 req_3" {
		t.Fatalf("kept %s after a minute, want those of the last minute", ids)
	}
	big := strings.Repeat("x", 2*task.MaxEventText)
	small := newTestRecorder(Config{MaxBytes: 3 * task.MaxEventText}, &now)
	for i := range 4 {
		small.Observe(task.Event{Type: task.EventPlanned, RequestID: fmt.Sprint("req_", i), Input: big, Time: now})
	}
	if ids := listIDs(small); ids != "req_3 req_2" {
		t.Fatalf("kept %s, want what fits in the byte budget", ids)
	}
	if r, _ := small.Get("req_3"); len(r.Input) != task.MaxEventText || !r.Clipped {
		t.Fatalf("input kept = %d bytes, clipped %v", len(r.Input), r.Clipped)
	}
}

// More requests running than are kept: the events of one dropped while
// it runs neither bring it back nor push out the requests kept.
func TestRecorderDropsTheEventsOfARequestNotKept(t *testing.T) {
	now := t0
	rec := newTestRecorder(Config{MaxRequests: 2}, &now)
	for i := range 3 {
		streamRequest(rec, fmt.Sprint("req_", i), 1)
	}
	if ids := listIDs(rec); ids != "req_2 req_1" {
		t.Fatalf("kept %s, want the two most recent", ids)
	}
	rec.Observe(task.Event{Type: task.EventProgress, RequestID: "req_0", SubtaskID: "t1", Text: "more"})
	rec.Observe(task.Event{Type: task.EventAccepted, RequestID: "req_0", SubtaskID: "t1", Model: "m", Attempt: 1})
	rec.Observe(task.Event{Type: task.EventDone, RequestID: "req_0", SubtaskID: "t1", Model: "m", Attempt: 1,
		Output: &task.Output{Text: "0 more"}})
	if ids := listIDs(rec); ids != "req_2 req_1" {
		t.Fatalf("kept %s after events of the dropped req_0, want req_2 req_1", ids)
	}
	if r, _ := rec.Get("req_2"); len(r.Steps) != 1 || r.Steps[0].Output != "0 " {
		t.Fatalf("req_2's steps = %+v", r.Steps)
	}
}

func listIDs(rec *Recorder) string {
	var ids []string
	for _, s := range rec.List() {
		ids = append(ids, s.ID)
	}
	return strings.Join(ids, " ")
}

func TestRecorderTellsRemoteRequestsFromItsOwn(t *testing.T) {
	now := at(30)
	rec := newTestRecorder(Config{}, &now)
	evs := story()
	rec.Observe(evs[0])
	rec.ObserveRemote(evs[1]) // our own request's event, back from NATS
	if r, _ := rec.Get("req_1"); r.Remote || len(r.Steps[0].Attempts) != 0 {
		t.Fatalf("own request = %+v, changed by its echo from NATS", r)
	}
	other := func(ev task.Event) task.Event { ev.RequestID = "req_2"; return ev }
	rec.ObserveRemote(other(evs[1])) // a dispatch of a request whose start we missed
	if _, ok := rec.Get("req_2"); ok {
		t.Fatal("a remote request was recorded from the middle of its events")
	}
	for _, ev := range evs {
		rec.ObserveRemote(other(ev))
	}
	if r, ok := rec.Get("req_2"); !ok || !r.Remote || r.Status != statusDone || len(r.Steps) != 4 {
		t.Fatalf("remote request = %+v", r)
	}
}

func TestWatchHoldsEachChangedRequestOnce(t *testing.T) {
	now := t0
	rec := newTestRecorder(Config{MaxRequests: 1}, &now)
	w := rec.Watch()
	defer w.Close()
	for _, ev := range story()[:4] {
		rec.Observe(ev)
	}
	select {
	case <-w.Ready():
	default:
		t.Fatal("no signal after changes")
	}
	if ids := w.Take(); fmt.Sprint(ids) != "[req_1]" {
		t.Fatalf("changed = %v", ids)
	}
	rec.Observe(task.Event{Type: task.EventPlanned, RequestID: "req_2", Time: now})
	ids := w.Take()
	if len(ids) != 2 {
		t.Fatalf("changed = %v, want req_2 and the dropped req_1", ids)
	}
	w.Close()
	rec.Observe(task.Event{Type: task.EventPlanned, RequestID: "req_3", Time: now})
	if ids := w.Take(); len(ids) != 0 {
		t.Fatalf("a closed watch got %v", ids)
	}
}

// FuzzRecorderEvents feeds the recorder what a remote router could
// publish: whatever it is, the recorder stays within its bounds and its
// views encode.
func FuzzRecorderEvents(f *testing.F) {
	for _, ev := range story() {
		data, _ := json.Marshal(ev)
		f.Add(data, data)
	}
	f.Add([]byte(`{"type":"planned","request_id":"r","plan":{"tasks":[{"id":"a","deps":["a","b"]}]}}`),
		[]byte(`{"type":"done","request_id":"r","subtask_id":"zz","attempt":99999}`))
	f.Add([]byte(`{"type":"finished","request_id":"r","elapsed_ms":-5}`), []byte(`{"type":"progress","request_id":"r","subtask_id":"a","attempt":-1}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		now := t0
		rec := newTestRecorder(Config{MaxRequests: 4, MaxBytes: 1 << 20}, &now)
		for _, data := range [][]byte{a, b, a, b} {
			if ev, ok := decodeEvent(data); ok {
				rec.ObserveRemote(ev)
			}
		}
		if rec.bytes.Load() > 1<<20+maxSubtasks*(overhead+task.MaxEventText) {
			t.Fatalf("the recorder holds %d bytes", rec.bytes.Load())
		}
		for _, s := range rec.List() {
			r, ok := rec.Get(s.ID)
			if !ok || len(r.Steps) > maxSubtasks {
				t.Fatalf("request %q: kept %v, %d steps", s.ID, ok, len(r.Steps))
			}
			for _, st := range r.Steps {
				if len(st.Attempts) > maxAttempts || len(st.Input) > task.MaxEventText || len(st.Output) > task.MaxEventText {
					t.Fatalf("step %q out of bounds", st.ID)
				}
			}
			if _, err := json.Marshal(r); err != nil {
				t.Fatal(err)
			}
		}
	})
}
