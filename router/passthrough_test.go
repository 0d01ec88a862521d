package router_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/taskrouter/taskrouter/adapters/openai"
	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/planner"
	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/task"
)

// passthroughEnv is a router with a planner on embedded NATS, serving
// tr.v1.req, and an executor whose model "vision" is an OpenAI-compatible
// upstream on loopback.
func passthroughEnv(t *testing.T) (*env, *openaitest.Server) {
	t.Helper()
	up := openaitest.New()
	t.Cleanup(up.Close)
	up.Script("vision-1", openaitest.Behaviour{Reply: "A red square."})
	e := newEnv(t, router.Config{})
	p, err := planner.New(planner.ModeAuto, task.BuiltinCatalog())
	if err != nil {
		t.Fatal(err)
	}
	nc, err := e.bus.Connect("planned-router")
	if err != nil {
		t.Fatal(err)
	}
	if e.router, err = router.New(nc, e.reg, p, router.Config{AcceptTimeout: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.router.Close() })
	spec := task.ModelSpec{Name: "vision", Backend: task.BackendOpenAI, BaseURL: up.URL(), UpstreamModel: "vision-1",
		Capabilities: []string{"chat", "summarize"}, MaxOutputTokens: 4096, Concurrency: 4}
	m, err := openai.New(spec, "sk-test")
	if err != nil {
		t.Fatal(err)
	}
	e.executor("x1", executors.Served{Spec: spec, Model: m})
	return e, up
}

// upstreamGot returns the body the upstream last received.
func upstreamGot(t *testing.T, up *openaitest.Server) map[string]any {
	t.Helper()
	rec, ok := up.Last("vision-1")
	if !ok {
		t.Fatal("the upstream got no request")
	}
	var v map[string]any
	if err := json.Unmarshal(rec.Body, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func jsonOf(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// A producer naming a model on tr.v1.req calls that model: its messages
// reach the upstream as sent, content arrays and all, with nothing added
// (no system message, no max_tokens) and response_format untouched; the
// upstream's own answer comes back in the Response's body.
func TestNATSRequestNamingAModelIsPassedThrough(t *testing.T) {
	e, up := passthroughEnv(t)
	stop, err := e.router.Serve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	msgs := `[{"role":"system","content":"Be terse."},{"role":"user","name":"ana","content":[{"type":"text","text":"What is in"},` +
		`{"type":"text","text":"this picture?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA","detail":"low"}}]}]`
	rf := `{"type":"json_schema","json_schema":{"name":"a","schema":{"type":"object"}}}`
	nc, err := e.bus.Connect("producer")
	if err != nil {
		t.Fatal(err)
	}
	reply, err := nc.Request(task.SubjectRequest, []byte(`{"model":"vision","messages":`+msgs+`,"sampling":{"temperature":0,"response_format":`+rf+`}}`), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var resp task.Response
	if err := json.Unmarshal(reply.Data, &resp); err != nil || resp.Error != nil {
		t.Fatalf("response %s: %v", reply.Data, err)
	}
	got := upstreamGot(t, up)
	want := map[string]any{"model": "vision-1", "messages": jsonOf(t, msgs), "temperature": 0.0, "response_format": jsonOf(t, rf)}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		t.Fatalf("the upstream got\n%s\nwant the caller's messages and settings only", g)
	}
	if resp.Answer != "A red square." || resp.Model != "vision" || gjson.GetBytes(resp.Body, "system_fingerprint").Str != "fp_openaitest" {
		t.Fatalf("answer %q by %q, body %s", resp.Answer, resp.Model, resp.Body)
	}
}

// Streamed to a follower, a passthrough still sends only the caller's
// conversation, asks for the usage, and streams its text; the upstream's
// chunks go only to an ingress that relays the caller's own body.
func TestPassthroughStreamsText(t *testing.T) {
	e, up := passthroughEnv(t)
	for _, body := range []json.RawMessage{nil, json.RawMessage(`{"model":"vision","stream":true,"messages":[{"role":"user","content":"Describe it."}],"logprobs":true}`)} {
		var text strings.Builder
		chunks := 0
		req := task.Request{Messages: []task.Message{{Role: "user", Content: "Describe it."}}, Hints: task.Hints{Model: "vision"}, Body: body}
		resp := e.router.Handle(context.Background(), req, func(ev task.Event) {
			if ev.Type == task.EventProgress {
				text.WriteString(ev.Text)
				if len(ev.Chunk) > 0 {
					chunks++
				}
			}
		})
		mustDone(t, resp)
		// The caller's body asks for no usage: then it is estimated (3
		// tokens too, by task.EstimateTokens).
		if text.String() != "A red square." || resp.Answer != "A red square." || resp.Usage.CompletionTokens != 3 {
			t.Fatalf("streamed %q, answer %q, usage %+v", text.String(), resp.Answer, resp.Usage)
		}
		got := upstreamGot(t, up)
		if body == nil {
			want := jsonOf(t, `{"model":"vision-1","messages":[{"role":"user","content":"Describe it."}],"stream":true,"stream_options":{"include_usage":true}}`)
			if !reflect.DeepEqual(any(got), want) || chunks != 0 {
				t.Fatalf("the upstream got %v; %d chunks reached the router's caller", got, chunks)
			}
		} else if got["logprobs"] != true || chunks != 5 {
			t.Fatalf("the upstream got %v; %d chunks were relayed, want 5", got, chunks)
		}
	}
}

// The router's own subtasks keep its prompts: work it writes for a model
// (a planner's or a merge's call), a plan the caller wrote over other
// text, and the steps of a bigger plan are not the caller's conversation.
func TestRoutersOwnSubtasksKeepTheirPrompts(t *testing.T) {
	e, up := passthroughEnv(t)
	systemFirst := func(what string) {
		t.Helper()
		msgs, _ := upstreamGot(t, up)["messages"].([]any)
		if len(msgs) == 0 || msgs[0].(map[string]any)["role"] != "system" {
			t.Fatalf("%s: the upstream got %v, want the router's instruction first", what, msgs)
		}
	}
	if _, err := e.router.Generate(context.Background(), task.Work{Model: "vision", Capability: "summarize", Input: "Long text."}, nil); err != nil {
		t.Fatal(err)
	}
	systemFirst("Generate")
	other := plan(sub("t1", "summarize", "Some other text."))
	mustDone(t, e.router.Handle(context.Background(), task.Request{Input: "Summarize my notes.", Hints: task.Hints{Model: "vision"}, Plan: &other}, nil))
	systemFirst("a caller's plan")
	two := plan(sub("t1", "summarize", "A."), sub("t2", "chat", "B."))
	mustDone(t, e.router.Handle(context.Background(), task.Request{Input: "A. B.", Hints: task.Hints{Model: "vision"}, Plan: &two}, nil))
	systemFirst("a two-step plan")
}
