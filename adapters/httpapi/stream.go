package httpapi

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/tidwall/gjson"

	"github.com/taskrouter/taskrouter/adapters/internal/openaibody"
	"github.com/taskrouter/taskrouter/task"
)

// mergeStep is the subtask id of the router's model-written merge
// (router.MergeSubtaskID), whose text streams like a subtask's.
const mergeStep = "merge"

// stream answers a completion as server-sent events. A model called by
// name that relays the client's body has its upstream's chunks relayed as
// they come, each as sent but for the model's name. Otherwise a
// one-subtask plan's text goes out as the model writes it; a bigger
// plan's answer goes out as the model merging it writes it, or, with the
// template merge, when it is ready, with SSE comments to keep the
// connection alive meanwhile. The status line waits for the first thing
// to send, so a request that fails at once still gets a proper error
// status and body.
//
// The router runs on the handler's goroutine and its callback writes the
// text to the client itself: an open stream holds no goroutine of its own
// besides the connection's. A client that reads slowly holds up only its
// own request, for at most WriteTimeout per write, after which the request
// is cancelled; the router keeps what arrives meanwhile in the dispatch's
// mailbox.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, req *task.Request, sw *chunkWriter) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	st := &sseStream{sw: sw, cancel: cancel}
	if req.Plan != nil {
		st.f.step = answerStep(*req.Plan)
	}
	st.mu.Lock() // the timer's function reads st.keepAlive
	st.keepAlive = time.AfterFunc(s.cfg.KeepAlive, func() { st.comment(s.cfg.KeepAlive) })
	st.mu.Unlock()
	// The request is planned as it runs, so that a planner that streams
	// its plan starts steps while it writes the rest; the whole plan's
	// event, which comes before any step of it writes the answer, names
	// the step to forward. A closure rather than the method value
	// st.forward, whose wrapper would copy the event once more at the
	// deepest point of the stream.
	st.end(s.cfg.Runner.Handle(ctx, *req, func(ev task.Event) { st.forward(&ev) }), baseURL(r))
}

// answerStep is the step of plan whose text is the answer: a one-step
// plan's step, else the merge.
func answerStep(plan task.Plan) string {
	if len(plan.Tasks) == 1 {
		return plan.Tasks[0].ID
	}
	return mergeStep
}

// sseStream is a chunk writer shared by the router's callback and the
// keep-alive timer.
type sseStream struct {
	mu        sync.Mutex
	sw        *chunkWriter
	f         forwarder
	done      bool // finished: the keep-alive timer must not write
	keepAlive *time.Timer
	cancel    context.CancelFunc
}

// forward is the router's callback: it writes the text of the step that
// writes the answer to the client as it comes, and stops the work when
// the client is gone. It is called at the deepest point of the stream's
// goroutine, so it takes the event by pointer.
func (st *sseStream) forward(ev *task.Event) {
	if ev.Type == task.EventPlanned && ev.SubtaskID == "" && ev.Plan != nil && st.f.step == "" {
		st.f.step = answerStep(*ev.Plan)
	}
	if !st.f.forwards(ev) {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.sw.out.model = answeringModel(ev.Model, st.sw.out.model)
	if st.f.write(st.sw, ev) && !st.sw.flush() {
		st.cancel() // the client is gone: stop the work
	}
}

// end stops the keep-alives and ends the stream with resp.
func (st *sseStream) end(resp task.Response, base string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.keepAlive.Stop()
	st.done = true
	resp.Answer = withLinks(resp.Answer, resp.Artifacts, base)
	st.sw.finish(resp, &st.f)
}

// comment sends a keep-alive comment and re-arms the timer for the next.
func (st *sseStream) comment(every time.Duration) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.done {
		return
	}
	if !st.sw.comment("keep-alive") {
		st.cancel()
		return
	}
	st.keepAlive.Reset(every)
}

// forwarder passes on the text deltas, or the upstream's chunks, of the
// step that writes the answer, for one attempt of it. When the step is
// retried after text went out, the new attempt's text is held back and
// the answer is reconciled at the end.
type forwarder struct {
	step    string
	attempt int
	sent    strings.Builder
	// relayed says the upstream's own chunks went out, not text.
	relayed bool
}

// forwards reports whether ev is text or a chunk of the step that writes
// the answer. It reads only what the router's callback alone changes, so
// the callback can filter without taking the stream's lock.
func (f *forwarder) forwards(ev *task.Event) bool {
	return ev.Type == task.EventProgress && (ev.Text != "" || len(ev.Chunk) > 0) && ev.SubtaskID == f.step
}

// write sends ev's chunk, or else its text, when it belongs to the
// attempt being forwarded; it reports whether it sent any.
func (f *forwarder) write(sw *chunkWriter, ev *task.Event) bool {
	if f.attempt == 0 {
		f.attempt = ev.Attempt
	}
	if ev.Attempt != f.attempt {
		return false
	}
	if len(ev.Chunk) > 0 {
		// A relayed stream ends with the upstream's own chunks
		// (finishRelayed): its text need not be kept.
		f.relayed = true
		sw.relay(ev.Chunk, ev.Model)
		return true
	}
	f.sent.WriteString(ev.Text)
	if sw.relayOnly {
		return false
	}
	sw.content(ev.Text)
	return true
}

// chunkWriter writes chat.completion.chunk events, or relays an
// upstream's own chunks.
type chunkWriter struct {
	w     http.ResponseWriter
	rc    *http.ResponseController
	out   completion
	usage bool
	// buf holds what is written until the flush; it is lent by
	// chunkBuffers (lent) from the first append to the flush, so that an
	// open stream holds none while it waits for its next chunk.
	buf  []byte
	lent *[]byte
	// quoted is quotedFor as a JSON string, the name relay writes into
	// every chunk.
	quoted    []byte
	quotedFor string
	started   bool // the status line and headers went out
	headed    bool // the chunk naming the role went out
	broken    bool // a write failed: the client is gone
	// relayOnly is for an endpoint whose answers taskrouter does not
	// write itself (/v1/completions): only relayed chunks go out.
	relayOnly bool
}

func newChunkWriter(w http.ResponseWriter, out completion, usage bool) *chunkWriter {
	return &chunkWriter{w: w, rc: http.NewResponseController(w), out: out, usage: usage}
}

// chunkBuffers lends chunk writers their buffers.
var chunkBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// borrow makes sure buf is a lent buffer before anything is appended.
func (sw *chunkWriter) borrow() {
	if sw.lent == nil {
		sw.lent = chunkBuffers.Get().(*[]byte)
		sw.buf = (*sw.lent)[:0]
	}
}

// giveBack returns the lent buffer, unless a large chunk grew it: that
// one is left to the collector.
func (sw *chunkWriter) giveBack() {
	if sw.lent != nil && cap(sw.buf) <= 64<<10 {
		*sw.lent = sw.buf[:0]
		chunkBuffers.Put(sw.lent)
	}
	sw.lent, sw.buf = nil, nil
}

// start sends the status line, headers and the chunk that names the role.
func (sw *chunkWriter) start() {
	sw.startEvents()
	if !sw.headed {
		sw.headed = true
		sw.chunk(`{"role":"assistant","content":""}`, "", "")
	}
}

// startEvents sends the status line and the headers of an event stream.
func (sw *chunkWriter) startEvents() {
	if sw.started {
		return
	}
	sw.started = true
	h := sw.w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	if h.Get(HeaderModel) == "" { // a relayed chunk named the model already
		h.Set(HeaderModel, sw.out.model)
	}
	sw.w.WriteHeader(http.StatusOK)
}

// relay appends an upstream's chunk as it came, but for its model, which
// becomes the name of the model that answered; the first one sends the
// headers, naming that model.
func (sw *chunkWriter) relay(chunk []byte, model string) {
	if model == "" {
		model = sw.out.model
	}
	if !sw.started {
		sw.w.Header().Set(HeaderModel, model)
	}
	sw.startEvents()
	if model != sw.quotedFor || sw.quoted == nil {
		sw.quoted, sw.quotedFor = openaibody.QuoteModel(model), model
	}
	sw.borrow()
	sw.buf = append(sw.buf, "data: "...)
	sw.buf = openaibody.AppendModel(sw.buf, chunk, sw.quoted)
	sw.buf = append(sw.buf, "\n\n"...)
}

// chunk appends one chunk whose delta is the JSON object delta (or
// {"content": text} when delta is empty) and whose finish_reason is
// finish ("" is null).
func (sw *chunkWriter) chunk(delta, text, finish string) {
	sw.borrow()
	b := append(sw.buf, "data: "...)
	b = sw.out.appendHead(b, "chat.completion.chunk")
	b = append(b, `,"choices":[{"index":0,"delta":`...)
	if delta != "" {
		b = append(b, delta...)
	} else {
		b = append(b, `{"content":`...)
		b = appendString(b, text)
		b = append(b, '}')
	}
	b = append(b, `,"logprobs":null,"finish_reason":`...)
	if finish == "" {
		b = append(b, "null"...)
	} else {
		b = appendString(b, finish)
	}
	b = append(b, "}]"...)
	if sw.usage {
		b = append(b, `,"usage":null`...)
	}
	sw.buf = append(b, "}\n\n"...)
}

func (sw *chunkWriter) content(text string) {
	sw.start()
	sw.chunk("", text, "")
}

// flush writes what is buffered; it reports false once the client is gone.
func (sw *chunkWriter) flush() bool {
	defer sw.giveBack()
	if sw.broken || len(sw.buf) == 0 {
		return !sw.broken
	}
	_, err := sw.w.Write(sw.buf)
	if err == nil {
		err = sw.rc.Flush()
	}
	sw.broken = err != nil
	return !sw.broken
}

// comment sends an SSE comment, which clients ignore, to keep proxies and
// the connection from timing out.
func (sw *chunkWriter) comment(text string) bool {
	sw.startEvents()
	sw.borrow()
	sw.buf = append(sw.buf, ": "+text+"\n\n"...)
	return sw.flush()
}

// finish ends the stream: the rest of the answer, the tool calls, the
// finish chunk, the usage chunk when asked for, and [DONE]; or an error.
// A relayed stream has had all but [DONE] from the upstream.
func (sw *chunkWriter) finish(resp task.Response, f *forwarder) {
	sw.out.model = answeredBy(resp, sw.out.model)
	if failed(resp) {
		sw.fail(fromTaskError(resp.Error))
		return
	}
	if f.relayed || sw.relayOnly {
		sw.finishRelayed(resp, f)
		return
	}
	rest, ok := remainder(resp.Answer, f.sent.String())
	if !ok {
		sw.fail(interrupted())
		return
	}
	if rest != "" {
		sw.content(rest)
	}
	sw.start()
	if calls := toolCalls(resp); len(calls) > 0 {
		sw.chunk(string(appendToolCallsDelta(nil, calls)), "", "")
	}
	sw.chunk(`{}`, "", finishReason(resp))
	sw.borrow()
	if sw.usage {
		b := append(sw.buf, "data: "...)
		b = sw.out.appendHead(b, "chat.completion.chunk")
		b = append(b, `,"choices":[],"usage":`...)
		b = appendUsage(b, resp.Usage)
		sw.buf = append(b, "}\n\n"...)
	}
	sw.buf = append(sw.buf, "data: [DONE]\n\n"...)
	sw.flush()
}

// finishRelayed ends a relayed stream with [DONE], when the attempt
// whose chunks went out is the one that answered.
func (sw *chunkWriter) finishRelayed(resp task.Response, f *forwarder) {
	switch {
	case !f.relayed:
		sw.fail(newError(http.StatusBadGateway, typeServer, "not_relayed",
			"Model '"+answeredBy(resp, sw.out.model)+"' answered without an OpenAI stream, which this endpoint needs; "+
				"name a model served by an OpenAI-compatible backend."))
	case len(resp.Subtasks) == 0 || resp.Subtasks[0].Attempts != f.attempt:
		sw.fail(interrupted())
	default:
		sw.borrow()
		sw.buf = append(sw.buf, "data: [DONE]\n\n"...)
		sw.flush()
	}
}

// interrupted is the error of a stream whose streamed part a retry could
// not continue.
func interrupted() *apiError {
	return newError(http.StatusBadGateway, typeServer, "stream_interrupted",
		"The model failed after part of the answer was streamed and a retry answered differently; the streamed text is incomplete. Send the request again.")
}

// appendToolCallsDelta appends a delta that carries every call whole, as
// OpenAI's first delta of each call does: {"tool_calls": [{"index",
// "id", "type", "function": {"name", "arguments"}}]}. It is rebuilt from
// those fields, not copied, so that it is one line, as an SSE data line
// must be.
func appendToolCallsDelta(b []byte, calls []gjson.Result) []byte {
	b = append(b, `{"tool_calls":[`...)
	for i, call := range calls {
		if i > 0 {
			b = append(b, ',')
		}
		typ := call.Get("type").String()
		if typ == "" {
			typ = "function"
		}
		b = append(b, `{"index":`...)
		b = appendInt(b, int64(i))
		b = append(b, `,"id":`...)
		b = appendString(b, call.Get("id").String())
		b = append(b, `,"type":`...)
		b = appendString(b, typ)
		b = append(b, `,"function":{"name":`...)
		b = appendString(b, call.Get("function.name").String())
		b = append(b, `,"arguments":`...)
		b = appendString(b, call.Get("function.arguments").String())
		b = append(b, "}}"...)
	}
	return append(b, "]}"...)
}

// fail reports an error: as a status and body when nothing was sent yet,
// else as an error event, which OpenAI's clients raise as an APIError.
func (sw *chunkWriter) fail(e *apiError) {
	if !sw.started {
		writeError(sw.w, e)
		return
	}
	sw.borrow()
	b := append(sw.buf, `data: {"error":{"message":`...)
	b = appendString(b, e.Message)
	b = append(b, `,"type":`...)
	b = appendString(b, e.Type)
	b = append(b, `,"param":null,"code":`...)
	if e.Code != nil {
		b = appendString(b, *e.Code)
	} else {
		b = append(b, "null"...)
	}
	sw.buf = append(b, "}}\n\n"...)
	sw.flush()
}

// remainder is what of answer is still to be sent after sent went out. It
// is not ok when the answer does not continue the sent text.
func remainder(answer, sent string) (string, bool) {
	if sent == "" {
		return answer, true
	}
	if rest, ok := strings.CutPrefix(answer, sent); ok {
		return rest, true
	}
	if rest, ok := strings.CutPrefix(answer, strings.TrimLeftFunc(sent, unicode.IsSpace)); ok {
		return rest, true
	}
	if trimmedEqual(answer, sent) {
		return "", true
	}
	return "", false
}
