package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/adapters/httpapi"
	"github.com/taskrouter/taskrouter/adapters/httpapi/jobs"
	"github.com/taskrouter/taskrouter/adapters/httpapi/kv"
	"github.com/taskrouter/taskrouter/adapters/httpapi/webhook"
	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/memory"
	"github.com/taskrouter/taskrouter/task"
)

// memoryEnvHTTP is an API with two keys, conversations in a NATS
// key-value bucket, and a webhook that names conversations by thread.id.
func memoryEnvHTTP(t *testing.T) (*env, webhook.Secret) {
	t.Helper()
	b, err := bus.Start(context.Background(), bus.Config{Name: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	nc, err := b.Connect("memory")
	if err != nil {
		t.Fatal(err)
	}
	bucket, err := memory.OpenNATSBucket(context.Background(), nc, "http_memory", time.Hour, 1)
	if err != nil {
		t.Fatal(err)
	}
	mem, err := memory.New(memory.Config{Bucket: bucket})
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := webhook.ParseSecret(hookSecret)
	e := newEnv(t, envOptions{bus: b, memory: mem, jobsKV: kv.NewMemory(time.Hour), cfg: httpapi.Config{APIKeys: []string{"key-a", "key-b"},
		Hooks: []httpapi.Hook{{Name: "slack", Verifier: webhook.Verifier{Secrets: []webhook.Secret{secret}}, Model: "gpt-test", ConversationFrom: "thread.id"}}}})
	return e, secret
}

// chatIn posts a chat completion to gpt-test in a conversation named by
// the header, and returns the upstream's messages.
func chatIn(t *testing.T, e *env, key, conversation, text string) []task.Message {
	t.Helper()
	req, _ := http.NewRequest("POST", e.url+"/v1/chat/completions", strings.NewReader(
		`{"model":"gpt-test","messages":[{"role":"user","content":"`+text+`"}]}`))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set(task.HeaderConversation, conversation)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("chat in %s: status %d", conversation, resp.StatusCode)
	}
	rec, _ := e.upstream.Last("gpt-test")
	return rec.Messages
}

func TestConversationsOverHTTPJobsAndWebhooks(t *testing.T) {
	e, secret := memoryEnvHTTP(t)
	chatIn(t, e, "key-a", "support-7", "My order number is 5531.")
	msgs := chatIn(t, e, "key-a", "support-7", "Which order was it?")
	if len(msgs) != 3 || msgs[0].Content != "My order number is 5531." || msgs[1].Role != "assistant" || msgs[2].Content != "Which order was it?" {
		t.Fatalf("the model got %+v", msgs)
	}
	// A job in the same conversation, named in its body, gets it too.
	j := decode[jobView](t, e.do("POST", "/v1/jobs", "key-a", map[string]any{"model": "gpt-test", "input": "And the total?", "conversation": "support-7"}), 202)
	if done := e.waitJob(j.ID, "key-a"); done.Status != jobs.StatusDone {
		t.Fatalf("job %+v", done)
	}
	if rec, _ := e.upstream.Last("gpt-test"); len(rec.Messages) != 5 || rec.Messages[0].Content != "My order number is 5531." {
		t.Fatalf("the job's model got %+v", rec.Messages)
	}
	v := decode[memory.View](t, e.do("GET", "/v1/conversations/support-7", "key-a", nil), 200)
	if len(v.Turns) != 6 || v.Turns[4].Content != "And the total?" || v.ID != "support-7" {
		t.Fatalf("GET = %+v", v)
	}
	// Another key sees no such conversation, and its own of the same
	// name starts empty.
	e.do("GET", "/v1/conversations/support-7", "key-b", nil).Body.Close()
	if r := e.do("GET", "/v1/conversations/support-7", "key-b", nil); r.StatusCode != 404 {
		t.Fatalf("another key's GET = %d, want 404", r.StatusCode)
	}
	if r := e.do("DELETE", "/v1/conversations/support-7", "key-b", nil); r.StatusCode != 404 {
		t.Fatalf("another key's DELETE = %d, want 404", r.StatusCode)
	}
	if msgs := chatIn(t, e, "key-b", "support-7", "Which order was it?"); len(msgs) != 1 {
		t.Fatalf("key-b's request got key-a's conversation: %+v", msgs)
	}
	// DELETE forgets it: the next request starts afresh.
	if r := e.do("DELETE", "/v1/conversations/support-7", "key-a", nil); r.StatusCode != 200 {
		t.Fatalf("DELETE = %d", r.StatusCode)
	}
	if r := e.do("GET", "/v1/conversations/support-7", "key-a", nil); r.StatusCode != 404 {
		t.Fatalf("GET after DELETE = %d", r.StatusCode)
	}
	if msgs := chatIn(t, e, "key-a", "support-7", "Which order was it?"); len(msgs) != 1 {
		t.Fatalf("after DELETE the model got %+v", msgs)
	}
	// A webhook's payload names its thread: the second event of the
	// thread gets the first as context.
	for i, text := range []string{"The build on main is red.", "Is it still red?"} {
		body := `{"thread":{"id":"T-1"},"text":"` + text + `"}`
		hr := decode[hookReply](t, postHook(t, e, "slack", signed(secret, "evt_"+string(rune('a'+i)), time.Now(), body), body), 202)
		e.waitJob(hr.ID, "key-a")
	}
	rec, _ := e.upstream.Last("gpt-test")
	if len(rec.Messages) != 3 || !strings.Contains(rec.Messages[0].Content, "The build on main is red.") {
		t.Fatalf("the second event's model got %+v", rec.Messages)
	}
}

func TestConversationRequestErrors(t *testing.T) {
	e, _ := memoryEnvHTTP(t)
	for _, c := range []struct {
		header, body string
		want         int
	}{
		{strings.Repeat("y", 300), `{"model":"gpt-test","messages":[{"role":"user","content":"x"}]}`, 400},
		{"one", `{"model":"gpt-test","conversation":"two","messages":[{"role":"user","content":"x"}]}`, 400},
		{"", `{"model":"gpt-test","conversation":"` + strings.Repeat("x", 300) + `","messages":[{"role":"user","content":"x"}]}`, 400},
		{"", `{"model":"gpt-test","memory_scope":"u1","messages":[{"role":"user","content":"x"}]}`, 400},
		{"", `{"model":"gpt-test","conversation":7,"messages":[{"role":"user","content":"x"}]}`, 400},
	} {
		req, _ := http.NewRequest("POST", e.url+"/v1/chat/completions", strings.NewReader(c.body))
		req.Header.Set("Authorization", "Bearer key-a")
		if c.header != "" {
			req.Header[task.HeaderConversation] = []string{c.header}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("header %q body %s: status %d, want %d", c.header, c.body, resp.StatusCode, c.want)
		}
	}
}

// tr.v1.req takes the conversation too.
func TestConversationOverNATS(t *testing.T) {
	e, _ := memoryEnvHTTP(t)
	stop, err := e.router.Serve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	nc := e.connect("producer")
	for _, text := range []string{"Remember: the door code is 4711.", "What is the door code?"} {
		if _, err := nc.Request(task.SubjectRequest, []byte(`{"model":"gpt-test","input":"`+text+`","conversation":"door"}`), 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	rec, _ := e.upstream.Last("gpt-test")
	if len(rec.Messages) != 3 || rec.Messages[0].Content != "Remember: the door code is 4711." {
		t.Fatalf("the model got %+v", rec.Messages)
	}
}
