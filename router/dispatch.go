package router

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/nats-io/nats.go"
	"github.com/tidwall/gjson"

	"github.com/taskrouter/taskrouter/task"
)

// attempt is the outcome of one dispatch.
type attempt struct {
	out      task.Output
	executor string
	err      *task.Error
	// unserved means nobody took the work (no responders, or no accepted in
	// time): the next attempt should go to another model at once.
	unserved bool
	// record is the attempt's place in the subtask's timeline.
	record task.Attempt
	// memTokens is what the conversation's memory added to its prompt.
	memTokens int
}

// end makes a the outcome of a dispatch that executor (if any) answered
// with out, or that failed with err. It sets the fields one by one: a
// composite literal would be built in the caller's frame first.
func (a *attempt) end(executor string, out *task.Output, err *task.Error) {
	*a = attempt{}
	a.executor, a.err = executor, err
	if out != nil {
		a.out = *out
	}
}

// dispatch publishes one attempt of a subtask on its model's subject and
// follows the executor's replies until a result, an error, silence, or the
// end of ctx. onProgress receives streamed text and upstream chunks.
// patience is how much longer than the accept timeout to wait for an
// executor to take the work, when sending it again could only reach the
// same one (see run.patience). The outcome is left in a. The work and
// the outcome go by pointer: a streaming request's goroutine
// holds these frames while it streams.
func (r *Router) dispatch(ctx context.Context, w *task.Work, patience time.Duration, onAccepted func(executor string, at time.Time), onProgress func(task.Reply), a *attempt) {
	if st := r.nc.Status(); st != nats.CONNECTED {
		// A publish now would wait in the client's buffer and reach the
		// executors, if ever, after the accept timeout ran out: say at
		// once that NATS is away.
		*a = attempt{unserved: true, err: natsAway(st)}
		return
	}
	reply, box := r.inbox.open()
	defer r.inbox.release(box)
	if err, unserved := r.publishWork(w, reply); err != nil {
		*a = attempt{unserved: unserved, err: err}
		return
	}
	r.follow(ctx, w, box, patience, onAccepted, onProgress, a)
}

// publishWork sends w to its model's queue group, asking for the replies
// on reply. When it could not, it returns why, and whether no executor
// can have got the work (unserved).
func (r *Router) publishWork(w *task.Work, reply string) (_ *task.Error, unserved bool) {
	buf := workBuffers.Get().(*[]byte)
	data, err := task.AppendWork((*buf)[:0], *w)
	defer putWorkBuffer(buf, data)
	if err != nil {
		return task.Errorf(task.CodeInternal, "encoding subtask: %v", err), false
	}
	// PublishRequest copies data before it returns.
	if err := r.nc.PublishRequest(task.ModelSubject(w.Model), reply, data); err != nil {
		if errors.Is(err, nats.ErrMaxPayload) {
			return task.Errorf(task.CodeTooLarge, "the subtask for model %s is %d bytes, more than the NATS server's max_payload of %d; "+
				"send less, or raise max_payload", w.Model, len(data), r.nc.MaxPayload()), false
		}
		return task.Errorf(task.CodeUnavailable, "publishing subtask to model %s: %v", w.Model, err), true
	}
	return nil, false
}

// workBuffers recycles the buffers work is encoded in.
var workBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// putWorkBuffer returns a buffer, grown to data, to the pool, unless a
// large subtask grew it: that one is left to the collector.
func putWorkBuffer(buf *[]byte, data []byte) {
	if cap(data) <= 64<<10 {
		*buf = data[:0]
		workBuffers.Put(buf)
	}
}

// follow reads the executors' replies to one dispatch of w until its
// outcome, which it leaves in a.
func (r *Router) follow(ctx context.Context, w *task.Work, box *mailbox, patience time.Duration, onAccepted func(string, time.Time), onProgress func(task.Reply), a *attempt) {
	timer := getTimer(r.cfg.AcceptTimeout)
	defer putTimer(timer)
	executor := ""
	waited := r.cfg.AcceptTimeout
	for {
		select {
		case <-ctx.Done():
			r.cancelAt(w)
			a.end(executor, nil, task.AsError(context.Cause(ctx)))
			return
		case <-timer.C:
			if executor == "" && patience > 0 {
				// The work sits in a busy executor's queue; a copy sent
				// again would queue behind it.
				resetTimer(timer, patience)
				waited, patience = waited+patience, 0
				continue
			}
			if executor == "" {
				r.cancelAt(w) // so that the executor, if it gets to it, does not run it too
				a.end("", nil, task.Errorf(task.CodeLost, "no executor of model %s accepted the subtask within %s", w.Model, waited))
				a.unserved = true
				return
			}
			r.cancelAt(w)
			a.end(executor, nil, task.Errorf(task.CodeLost, "executor %s of model %s went silent for %s", executor, w.Model, r.cfg.LostAfter))
			return
		case <-box.notify:
		}
		for _, m := range box.take() {
			if m.Header.Get("Status") == "503" {
				a.end("", nil, task.Errorf(task.CodeUnavailable, "no executor is serving model %s", w.Model))
				a.unserved = true
				return
			}
			rep, err := decodeReply(m.Data)
			if err != nil {
				a.end(executor, nil, task.Errorf(task.CodeUpstream, "decoding a reply of model %s: %v", w.Model, err))
				return
			}
			if rep.Executor != "" {
				executor = rep.Executor
			}
			if rep.ElapsedUs > 0 {
				// "accepted", or an answer sent in its place: the executor
				// took the work that long ago.
				onAccepted(executor, time.Now().Add(-time.Duration(rep.ElapsedUs)*time.Microsecond))
			}
			switch rep.Type {
			case task.ReplyAccepted:
				if rep.ElapsedUs <= 0 { // an executor from before elapsed_us
					onAccepted(executor, time.Now())
				}
			case task.ReplyProgress:
				if rep.Delta != "" || len(rep.Chunk) > 0 || rep.Progress != nil {
					onProgress(rep)
				}
			case task.ReplyResult:
				if rep.Output == nil {
					a.end(executor, nil, task.Errorf(task.CodeUpstream, "model %s sent a result with no output", w.Model))
					return
				}
				a.end(executor, rep.Output, nil)
				return
			case task.ReplyError:
				if rep.Error == nil {
					rep.Error = task.Errorf(task.CodeUpstream, "model %s failed without saying why", w.Model)
				}
				a.end(executor, nil, rep.Error)
				return
			}
		}
		resetTimer(timer, r.cfg.LostAfter)
	}
}

// natsAwayRetry is how long a client is asked to wait while the router's
// NATS connection is down: nats.go reconnects every 250 ms.
const natsAwayRetry = time.Second

// natsUp reports whether the router's NATS connection is connected.
func (r *Router) natsUp() bool { return r.nc.Status() == nats.CONNECTED }

// natsAway is the error of a dispatch while the router's NATS connection
// is not connected.
func natsAway(st nats.Status) *task.Error {
	e := task.Errorf(task.CodeUnavailable, "the router cannot reach NATS (connection %s), so no executor can be asked; "+
		"it reconnects on its own: retry in a moment", strings.ToLower(st.String()))
	e.RetryAfterMs = natsAwayRetry.Milliseconds()
	return e
}

// cancelAt tells executors to stop one attempt of a subtask.
func (r *Router) cancelAt(w *task.Work) {
	body, _ := json.Marshal(task.CancelNotice{Subtasks: []string{w.SubtaskID}, Attempt: w.Attempt})
	if err := r.nc.Publish(task.CancelSubject(w.RequestID), body); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		r.cfg.Logger.Warn("publishing cancellation", "request_id", w.RequestID, "subtask", w.SubtaskID, "model", w.Model, "err", err)
	}
}

func resetTimer(t *time.Timer, d time.Duration) {
	t.Stop()
	t.Reset(d)
}

// timers recycles the per-dispatch timers. Since Go 1.23 a stopped timer
// has no stale value in its channel, so Reset after Stop is safe.
var timers sync.Pool

func getTimer(d time.Duration) *time.Timer {
	if t, ok := timers.Get().(*time.Timer); ok {
		t.Reset(d)
		return t
	}
	return time.NewTimer(d)
}

func putTimer(t *time.Timer) {
	t.Stop()
	timers.Put(t)
}

// decodeReply parses an executor's reply in one gjson pass; it is the
// router's hottest parse (accepted, keep-alives, streamed tokens, result).
// Anything on the NATS may answer a dispatch, so the nesting is bounded
// before gjson's validator, which recurses once per level, reads it.
// The reply's strings and chunk are parts of data, which must not be
// written afterwards.
func decodeReply(data []byte) (task.Reply, error) {
	if err := task.CheckJSONDepth(data, task.MaxWireJSONDepth); err != nil {
		return task.Reply{}, errors.New(task.AsError(err).Message)
	}
	if !gjson.ValidBytes(data) {
		return task.Reply{}, errors.New("not JSON")
	}
	var rep task.Reply
	// Read in place: data is the message's own copy, which nats.go made
	// for it; a streamed reply would otherwise be copied twice more per
	// chunk.
	gjson.Parse(unsafe.String(unsafe.SliceData(data), len(data))).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "type":
			rep.Type = task.ReplyType(v.Str)
		case "executor":
			rep.Executor = v.Str
		case "delta":
			rep.Delta = v.Str
		case "chunk":
			if end := v.Index + len(v.Raw); v.Index > 0 && end <= len(data) {
				rep.Chunk = data[v.Index:end:end]
			} else { // gjson could not say where the value is
				rep.Chunk = json.RawMessage(v.Raw)
			}
		case "progress":
			rep.Progress = decodeProgress(v)
		case "output":
			rep.Output = decodeOutput(v)
		case "error":
			rep.Error = decodeError(v)
		case "elapsed_us":
			rep.ElapsedUs = v.Int()
		}
		return true
	})
	return rep, nil
}

// decodeProgress reads a tool's progress report; nil when it is no object.
func decodeProgress(v gjson.Result) *task.Progress {
	if !v.IsObject() {
		return nil
	}
	return &task.Progress{Done: v.Get("done").Float(), Total: v.Get("total").Float(), Message: v.Get("message").Str}
}

func decodeOutput(v gjson.Result) *task.Output {
	if !v.IsObject() {
		return nil
	}
	// One pass over the object, where a Get per field would scan it from
	// the start each time; the first of a repeated key counts, as with Get.
	out := &task.Output{}
	var seen uint8
	first := func(bit uint8) bool {
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		return true
	}
	v.ForEach(func(k, f gjson.Result) bool {
		switch {
		case k.Str == "text" && first(1):
			out.Text = f.Str
		case k.Str == "format" && first(2):
			out.Format = f.Str
		case k.Str == "finish_reason" && first(4):
			out.FinishReason = f.Str
		case k.Str == "tool_calls" && first(8):
			if f.IsArray() {
				out.ToolCalls = json.RawMessage(f.Raw)
			}
		case k.Str == "body" && first(16):
			out.Body = json.RawMessage(f.Raw)
		case k.Str == "artifacts" && first(32):
			if f.IsArray() {
				out.Artifacts = decodeArtifacts(f)
			}
		case k.Str == "usage" && first(64):
			if f.IsObject() {
				out.Usage = task.Usage{PromptTokens: int(f.Get("prompt_tokens").Int()),
					CompletionTokens: int(f.Get("completion_tokens").Int()), CostUSD: f.Get("cost_usd").Float()}
			}
		}
		return true
	})
	return out
}

func decodeError(v gjson.Result) *task.Error {
	if !v.IsObject() {
		return nil
	}
	return &task.Error{Code: task.Code(v.Get("code").Str), Message: v.Get("message").Str, Subtask: v.Get("subtask").Str,
		Retryable: v.Get("retryable").Bool(), RetryAfterMs: v.Get("retry_after_ms").Int()}
}

// decodeArtifacts reads the artifacts an executor says a model stored.
func decodeArtifacts(v gjson.Result) []task.ArtifactRef {
	var out []task.ArtifactRef
	v.ForEach(func(_, a gjson.Result) bool {
		out = append(out, task.ArtifactRef{ID: a.Get("id").Str, MIME: a.Get("mime").Str, Size: a.Get("size").Int(),
			SHA256: a.Get("sha256").Str, Name: a.Get("name").Str, Ref: a.Get("ref").Str})
		return true
	})
	return out
}
