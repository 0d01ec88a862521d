package router_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/adapters/openai"
	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/localmodel"
	"github.com/taskrouter/taskrouter/memory"
	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/task"
)

// memoryEnv is a router with memory in a NATS key-value bucket and an
// answer cache, the built-in summarize model, and two scripted remote
// models: "chat" (a large window) and "small" (a window of 600 tokens,
// 100 of them for the answer).
type memoryEnv struct {
	*env
	up  *openaitest.Server
	mem *memory.Memory
	// events are the events of every request, in order.
	mu     sync.Mutex
	events []task.Event
}

func newMemoryEnv(t *testing.T, window int) *memoryEnv {
	t.Helper()
	e := &memoryEnv{env: newEnv(t, router.Config{}), up: openaitest.New()}
	t.Cleanup(e.up.Close)
	echo := func(msgs []task.Message) string { return fmt.Sprintf("heard %d messages", len(msgs)) }
	e.up.Script("chat-1", openaitest.Behaviour{ReplyFunc: echo})
	e.up.Script("small-1", openaitest.Behaviour{ReplyFunc: echo})
	nc, err := e.bus.Connect("memory")
	if err != nil {
		t.Fatal(err)
	}
	b, err := memory.OpenNATSBucket(context.Background(), nc, "memory_test", time.Hour, 1)
	if err != nil {
		t.Fatal(err)
	}
	if e.mem, err = memory.New(memory.Config{Bucket: b, Window: window}); err != nil {
		t.Fatal(err)
	}
	rnc, err := e.bus.Connect("memory-router")
	if err != nil {
		t.Fatal(err)
	}
	if e.router, err = router.New(rnc, e.reg, nil, router.Config{AcceptTimeout: 2 * time.Second, Memory: e.mem,
		Cache: memory.NewLocalCache(memory.CacheConfig{}), Observe: e.observe}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.router.Close() })
	zero := 0.0
	served := []executors.Served{{Spec: localmodel.Builtins()[1].Spec, Model: localmodel.Summarize{}}}
	for _, spec := range []task.ModelSpec{
		{Name: "chat", UpstreamModel: "chat-1", Capabilities: []string{"chat"}, ContextWindow: 100000, MaxOutputTokens: 1000, Temperature: &zero},
		{Name: "small", UpstreamModel: "small-1", Capabilities: []string{"qa"}, ContextWindow: 600, MaxOutputTokens: 100},
	} {
		spec.Backend, spec.BaseURL, spec.Concurrency = task.BackendOpenAI, e.up.URL(), 8
		m, err := openai.New(spec, "")
		if err != nil {
			t.Fatal(err)
		}
		served = append(served, executors.Served{Spec: spec, Model: m})
	}
	e.executor("x1", served...)
	return e
}

func (e *memoryEnv) observe(ev task.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.events = append(e.events, ev)
}

// contextEvents returns the context events of a request.
func (e *memoryEnv) contextEvents(id string) []task.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []task.Event
	for _, ev := range e.events {
		if ev.RequestID == id && ev.Type == task.EventContext {
			out = append(out, ev)
		}
	}
	return out
}

// ask runs a one-step request on capability in a conversation.
func (e *memoryEnv) ask(t *testing.T, capability, conversation, scope, input string) task.Response {
	t.Helper()
	req := task.Request{ID: task.NewID("req_"), Input: input, Conversation: conversation, MemoryScope: scope, Owner: "key-1",
		Plan: &task.Plan{Tasks: []task.Subtask{{ID: "t1", Capability: capability, Input: input, Deps: []string{}}}}}
	resp := e.router.Handle(context.Background(), req, nil)
	mustDone(t, resp)
	return resp
}

func TestConversationTurnsBecomeTheNextRequestsContext(t *testing.T) {
	e := newMemoryEnv(t, 20)
	e.ask(t, "chat", "c1", "", "My name is Ada and I like sailing.")
	resp := e.ask(t, "chat", "c1", "", "What is my name?")
	rec, _ := e.up.Last("chat-1")
	var texts []string
	for _, m := range rec.Messages {
		texts = append(texts, m.Role+": "+m.Content)
	}
	got := strings.Join(texts, "\n")
	if !strings.Contains(got, "user: My name is Ada and I like sailing.\nassistant: heard 2 messages\nuser: What is my name?") {
		t.Fatalf("the upstream got:\n%s", got)
	}
	if resp.Usage.MemoryTokens <= 0 {
		t.Errorf("usage %+v says memory added nothing", resp.Usage)
	}
	if evs := e.contextEvents(resp.ID); len(evs) != 1 || !strings.Contains(evs[0].Text, "2 recent turns") {
		t.Errorf("context events %+v", evs)
	}
	// Another owner's conversation of the same name is another one.
	req := task.Request{Input: "What is my name?", Conversation: "c1", Owner: "key-2",
		Plan: &task.Plan{Tasks: []task.Subtask{{ID: "t1", Capability: "chat", Input: "What is my name?", Deps: []string{}}}}}
	mustDone(t, e.router.Handle(context.Background(), req, nil))
	if rec, _ := e.up.Last("chat-1"); len(rec.Messages) != 2 {
		t.Errorf("another key's request got %d messages, want the instruction and its input", len(rec.Messages))
	}
	v, err := e.mem.Get(context.Background(), "key-1", "c1")
	if err != nil || len(v.Turns) != 4 || v.Turns[2].Content != "What is my name?" {
		t.Fatalf("the conversation holds %+v, %v", v.Turns, err)
	}
}

// A conversation longer than a small model's window reaches it folded:
// what the upstream gets fits, a context event says what was summarized,
// and the summary is kept with the conversation.
func TestContextFitsASmallWindow(t *testing.T) {
	e := newMemoryEnv(t, 40)
	long := strings.Repeat("The harbour master logged another ship arriving with grain and timber. ", 4)
	for i := range 8 {
		e.ask(t, "chat", "long", "", fmt.Sprintf("Note %d: %s", i, long))
	}
	resp := e.ask(t, "qa", "long", "", "How many ships came?")
	rec, _ := e.up.Last("small-1")
	total := 0
	for _, m := range rec.Messages {
		total += task.EstimateTokens(m.Content) + 4
	}
	if total > 600-100 {
		t.Fatalf("the small model got %d tokens, more than its window of 600 less 100 for the answer", total)
	}
	if !strings.Contains(rec.Messages[1].Content, "Summary of the conversation") {
		t.Fatalf("the small model got no summary first: %+v", rec.Messages[1])
	}
	evs := e.contextEvents(resp.ID)
	if len(evs) == 0 || !strings.Contains(evs[0].Text, "summarized turns 1-") || !strings.Contains(evs[0].Text, "local/summarize") {
		t.Fatalf("context events %+v", evs)
	}
	if resp.Usage.MemoryTokens <= 0 || resp.Usage.MemoryTokens > 500 {
		t.Errorf("usage says memory added %d tokens", resp.Usage.MemoryTokens)
	}
	v, _ := e.mem.Get(context.Background(), "key-1", "long")
	if v.Summary == nil || v.Summary.Model != "local/summarize" || v.Summary.Through < 2 {
		t.Fatalf("the conversation keeps the summary %+v", v.Summary)
	}
	// The next request starts from the summary: nothing is folded again.
	resp = e.ask(t, "qa", "long", "", "And the grain?")
	if evs := e.contextEvents(resp.ID); len(evs) != 1 || strings.Contains(evs[0].Text, fmt.Sprintf("turns 1-%d", v.Summary.Through)) {
		t.Fatalf("the second request's context events %+v", evs)
	}
}

// memory_scope lets a new conversation recall a fact told in another.
func TestRecallAcrossAMemoryScope(t *testing.T) {
	e := newMemoryEnv(t, 20)
	e.ask(t, "chat", "last-week", "user-42", "I'm flying to Lisbon on May 3 for a wedding.")
	e.ask(t, "chat", "today", "user-42", "What did I tell you about my trip to Lisbon?")
	rec, _ := e.up.Last("chat-1")
	if !strings.Contains(rec.Messages[1].Content, "Recalled") || !strings.Contains(rec.Messages[1].Content, "Lisbon on May 3") {
		t.Fatalf("the model got no recalled turn: %+v", rec.Messages)
	}
}

// A named model is a passthrough: without a conversation id it gets the
// caller's body byte for byte, even while that caller has conversations;
// with one, the memory comes before the caller's messages, and
// taskrouter's own fields leave the body.
func TestNamedModelGetsTheCallersBodyUnlessItNamesAConversation(t *testing.T) {
	e := newMemoryEnv(t, 20)
	spec, _ := e.reg.Spec("chat")
	e.ask(t, "chat", "c9", "", "Remember the number 42.")
	body := []byte(`{"model":"chat","messages":[{"role":"user","content":"Which number?"}],"logprobs":true,"temperature":0.3}`)
	req := task.Request{Messages: []task.Message{{Role: "user", Content: "Which number?"}}, Owner: "key-1", Body: body, API: task.APIChat}
	mustDone(t, e.router.Handle(context.Background(), req.PinnedTo(spec), nil))
	rec, _ := e.up.Last("chat-1")
	if want := bytes.Replace(body, []byte(`"chat"`), []byte(`"chat-1"`), 1); !bytes.Equal(rec.Body, want) {
		t.Fatalf("the upstream got\n%s\nwant\n%s", rec.Body, want)
	}
	body = []byte(`{"model":"chat","conversation":"c9","messages":[{"role":"user","content":"Which number?"}],"logprobs":true}`)
	req.Body, req.Conversation = body, "c9"
	mustDone(t, e.router.Handle(context.Background(), req.PinnedTo(spec), nil))
	rec, _ = e.up.Last("chat-1")
	var got struct {
		Messages     []task.Message `json:"messages"`
		Logprobs     bool           `json:"logprobs"`
		Conversation *string        `json:"conversation"`
	}
	if err := json.Unmarshal(rec.Body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != 3 || got.Messages[0].Content != "Remember the number 42." || got.Messages[2].Content != "Which number?" ||
		!got.Logprobs || got.Conversation != nil {
		t.Fatalf("the upstream got %s", rec.Body)
	}
}

func TestCacheHitsMissesAndBypass(t *testing.T) {
	e := newMemoryEnv(t, 20)
	plan := &task.Plan{Tasks: []task.Subtask{{ID: "t1", Capability: "chat", Input: "Capital of France?", Deps: []string{}}}}
	run := func(req task.Request) task.Response {
		req.Input, req.Plan = "Capital of France?", plan
		resp := e.router.Handle(context.Background(), req, nil)
		mustDone(t, resp)
		return resp
	}
	if resp := run(task.Request{}); resp.Subtasks[0].Cached || e.up.Calls("chat-1") != 1 {
		t.Fatalf("the first run was cached, or made %d calls", e.up.Calls("chat-1"))
	}
	resp := run(task.Request{})
	if st := resp.Subtasks[0]; !st.Cached || st.Attempts != 0 || st.Model != "chat" || e.up.Calls("chat-1") != 1 || resp.Answer != "heard 2 messages" {
		t.Fatalf("the second run: %+v, %d calls", st, e.up.Calls("chat-1"))
	}
	off := false
	if resp := run(task.Request{Cache: &off}); resp.Subtasks[0].Cached || e.up.Calls("chat-1") != 2 {
		t.Fatalf("cache: false was served from the cache")
	}
	if resp := run(task.Request{Owner: "another-key"}); resp.Subtasks[0].Cached {
		t.Fatal("another key got this key's cached answer")
	}
	if resp := run(task.Request{Conversation: "c-cache"}); resp.Subtasks[0].Cached {
		t.Fatal("a request in a conversation was served from the cache")
	}
	// A model at its default temperature is not deterministic.
	qa := &task.Plan{Tasks: []task.Subtask{{ID: "t1", Capability: "qa", Input: "Why?", Deps: []string{}}}}
	for range 2 {
		if resp := e.router.Handle(context.Background(), task.Request{Input: "Why?", Plan: qa}, nil); resp.Subtasks[0].Cached {
			t.Fatal("a step at the upstream's default temperature was cached")
		}
	}
}
