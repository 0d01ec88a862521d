package router

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/taskrouter/taskrouter/memory"
	"github.com/taskrouter/taskrouter/task"
)

// Memory keeps the conversations requests name; memory.Memory is one.
type Memory interface {
	// Open reads a conversation's summary, recent and recalled turns for
	// a request with input.
	Open(ctx context.Context, k memory.Key, input string) (*memory.Session, error)
	// Record appends a request's turns to its conversation.
	Record(ctx context.Context, s *memory.Session, turns []memory.Turn) error
	// Fold keeps a new summary of the turns up to through.
	Fold(ctx context.Context, s *memory.Session, through int64, text, model string) error
	// Window is how many recent turns go to a model verbatim.
	Window() int
}

// MemoryMetrics counts what memory and the answer cache do. A Metrics
// that implements it gets these calls too.
type MemoryMetrics interface {
	// CacheLookup counts a step looked up in the answer cache.
	CacheLookup(capability string, hit bool)
	// MemoryAdded counts the tokens a conversation's memory added to one
	// step's prompt.
	MemoryAdded(tokens int)
	// MemoryOpened observes reading a conversation for a request: how
	// long it took and how many earlier turns were recalled.
	MemoryOpened(took time.Duration, recalled int)
	// Summarized counts a fold of turns into a conversation's summary,
	// and whether it worked.
	Summarized(ok bool)
}

// memoryMetrics returns the router's MemoryMetrics, or nil.
func (r *Router) memoryMetrics() MemoryMetrics {
	m, _ := r.cfg.Metrics.(MemoryMetrics)
	return m
}

// runMemory is a conversation's memory as one request uses it. Its steps
// may run in parallel and each may fold turns to fit its model, so the
// session is read and changed under mu.
type runMemory struct {
	mu   sync.Mutex
	sess *memory.Session
	msgs []task.Message // sess.Messages(), kept in step with it
	// left says what was left out of the context, for the context events.
	left []string
	// usage is what the folds' summarize steps cost.
	usage task.Usage
}

// messages returns the memory's messages as they are now.
func (m *runMemory) messages() []task.Message {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.msgs
}

// memoryOpenTimeout bounds reading a conversation: with its store away (a
// Redis outage), a request in a conversation fails as unavailable in
// seconds instead of waiting out its own deadline.
const memoryOpenTimeout = 3 * time.Second

// openMemory reads the request's conversation, when it names one, and
// folds older turns into the summary once twice the window has piled up.
func (ru *run) openMemory(ctx context.Context) error {
	req := ru.req
	if req.Conversation == "" {
		return nil
	}
	mem := ru.r.cfg.Memory
	if mem == nil {
		return task.Errorf(task.CodeInvalidRequest, "this router keeps no conversations (memory is off): leave \"conversation\" out, or ask the operator to configure memory")
	}
	start := time.Now()
	octx, cancel := context.WithTimeout(ctx, memoryOpenTimeout)
	defer cancel()
	sess, err := mem.Open(octx, memory.Key{Owner: req.Owner, Conversation: req.Conversation, Scope: req.MemoryScope}, ru.input)
	if err != nil {
		if te := task.AsError(err); te.Code == task.CodeInvalidRequest {
			return te
		}
		return task.Errorf(task.CodeUnavailable, "reading conversation %q: %v", req.Conversation, err)
	}
	if m := ru.r.memoryMetrics(); m != nil {
		m.MemoryOpened(time.Since(start), len(sess.Recalled))
	}
	ru.mem = &runMemory{sess: sess, msgs: sess.Messages()}
	if w := mem.Window(); sess.Unsummarized() > 2*w {
		ru.mem.mu.Lock()
		ru.fold(ctx, sess.Unsummarized()-w, "the conversation keeps "+fmt.Sprint(w)+" recent turns verbatim")
		ru.mem.mu.Unlock()
	}
	return nil
}

// foldSentences is how long a folded summary may grow, in sentences of
// the summarize model.
const foldSentences = 8

// fold folds the oldest n recent turns into the conversation's summary,
// by a model with capability summarize, and keeps it with the
// conversation. A fold that fails leaves those turns out instead, and
// says so. The caller holds ru.mem.mu.
func (ru *run) fold(ctx context.Context, n int, why string) {
	m := ru.mem
	in, through := m.sess.FoldInput(n)
	if in == "" {
		return
	}
	first := m.sess.Recent[0].Seq
	st := ru.r.generate(ctx, task.Work{RequestID: ru.req.ID, SubtaskID: "memory", Capability: "summarize", Input: in,
		Args: map[string]string{"sentences": fmt.Sprint(foldSentences)}}, nil)
	var err error
	if st.Status != task.StatusDone {
		err = st.Error
	} else {
		m.usage = m.usage.Add(st.Usage)
		err = ru.r.cfg.Memory.Fold(ctx, m.sess, through, st.Output, st.Model)
	}
	if mm := ru.r.memoryMetrics(); mm != nil {
		mm.Summarized(err == nil)
	}
	if err != nil {
		m.sess.Recent = slices.Clone(m.sess.Recent[n:])
		m.left = append(m.left, fmt.Sprintf("left out turns %d-%d (%s; summarizing them failed: %v)", first, through, why, err))
	} else {
		m.left = append(m.left, fmt.Sprintf("summarized turns %d-%d into the conversation's summary with %s (%s)", first, through, st.Model, why))
	}
	m.msgs = m.sess.Messages()
}

// recordMemory keeps the request's input and answer as the
// conversation's next turns. A failure is logged: the answer stands.
func (ru *run) recordMemory(ctx context.Context, resp task.Response) {
	if ru.mem == nil || strings.TrimSpace(resp.Answer) == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	turns := []memory.Turn{{Role: "user", Content: ru.input, RequestID: ru.req.ID}, {Role: "assistant", Content: resp.Answer, RequestID: ru.req.ID}}
	ru.mem.mu.Lock()
	defer ru.mem.mu.Unlock()
	if err := ru.r.cfg.Memory.Record(ctx, ru.mem.sess, turns); err != nil {
		ru.r.cfg.Logger.Warn("keeping the turns of a conversation failed; the answer was given but the conversation lacks it",
			"request_id", ru.req.ID, "err", err)
	}
}

// withMemory returns the memory's messages followed by msgs.
func withMemory(mem, msgs []task.Message) []task.Message {
	if len(mem) == 0 {
		return msgs
	}
	return append(slices.Clip(mem), msgs...)
}
