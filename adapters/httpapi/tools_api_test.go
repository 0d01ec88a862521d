package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/taskrouter/taskrouter/adapters/httpapi"
	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/task"
)

// modelToolCalls is what toolRunner's model calls, pretty-printed over two
// lines as a model's adapter may keep it: a stream must still send each
// chunk on one data line.
const modelToolCalls = `[{"id":"call_a","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}},
 {"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{}"}}]`

// toolCallsDelta is the streamed delta of modelToolCalls.
const toolCallsDelta = `{"tool_calls":[` +
	`{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}},` +
	`{"index":1,"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{}"}}]}`

// toolRunner answers as a model that calls the caller's functions: it
// streams text first when text is set (as t1, the step a request routed
// to a model runs), then returns modelToolCalls with finish_reason
// "tool_calls". It keeps what it ran.
type toolRunner struct {
	text string
	mu   sync.Mutex
	reqs []task.Request
}

func (r *toolRunner) Handle(_ context.Context, req task.Request, onEvent func(task.Event)) task.Response {
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.mu.Unlock()
	if onEvent != nil && r.text != "" {
		for _, word := range strings.SplitAfter(r.text, " ") {
			onEvent(task.Event{Type: task.EventProgress, RequestID: req.ID, SubtaskID: "t1", Attempt: 1, Text: word})
		}
	}
	return task.Response{ID: req.ID, Answer: r.text, ToolCalls: json.RawMessage(modelToolCalls), FinishReason: "tool_calls",
		Usage: task.Usage{PromptTokens: 20, CompletionTokens: 9}}
}

func (r *toolRunner) ran() []task.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]task.Request(nil), r.reqs...)
}

// newToolServer is the HTTP server on loopback in front of runner, with
// one registered model, "m".
func newToolServer(t *testing.T, runner *toolRunner) *env {
	t.Helper()
	return serveOnLoopback(t, httpapi.Config{Runner: runner, Models: oneModel("m")})
}

// toolRequest is a second turn of function calling: the user's question,
// the model's call and its result, with the functions on offer.
func toolRequest(stream bool) string {
	return `{"model":"m","stream":` + map[bool]string{true: "true", false: "false"}[stream] + `,` +
		`"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}},` +
		`{"type":"function","function":{"name":"get_time"}}],"tool_choice":"auto","parallel_tool_calls":false,` +
		`"messages":[{"role":"user","content":"Weather in Oslo?"},` +
		`{"role":"assistant","content":null,"tool_calls":[{"id":"call_0","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},` +
		`{"role":"tool","tool_call_id":"call_0","content":"city missing"}]}`
}

// The functions, tool_choice, parallel_tool_calls and the conversation
// with its tool calls and results reach the runner for the named model.
func TestChatToolsReachTheRunner(t *testing.T) {
	runner := &toolRunner{}
	e := newToolServer(t, runner)
	decode[completionObject](t, e.do("POST", "/v1/chat/completions", "", toolRequest(false)), 200)
	readSSE(t, e.do("POST", "/v1/chat/completions", "", toolRequest(true)).Body)
	reqs := runner.ran()
	if len(reqs) != 2 {
		t.Fatalf("the runner ran %d requests, want 2", len(reqs))
	}
	no := false
	wantTools := &task.Tools{
		Functions: json.RawMessage(`[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}},` +
			`{"type":"function","function":{"name":"get_time"}}]`),
		Choice: json.RawMessage(`"auto"`), Parallel: &no}
	wantMsgs := []task.Message{{Role: "user", Content: "Weather in Oslo?"},
		{Role: "assistant", ToolCalls: json.RawMessage(`[{"id":"call_0","type":"function","function":{"name":"get_weather","arguments":"{}"}}]`)},
		{Role: "tool", ToolCallID: "call_0", Content: "city missing"}}
	for _, req := range reqs {
		if !reflect.DeepEqual(req.Tools, wantTools) || !reflect.DeepEqual(req.Messages, wantMsgs) || req.Model != "m" {
			t.Fatalf("the runner got tools %+v, model %q, messages %+v", req.Tools, req.Model, req.Messages)
		}
		if err := req.Check(task.Limits{}); err != nil {
			t.Fatalf("the router would refuse the request: %v", err)
		}
	}
}

// Unstreamed, the calls come back as the message's tool_calls, with
// content null when the model wrote no text, and the model's
// finish_reason.
func TestChatToolCallsAnswer(t *testing.T) {
	for _, c := range []struct{ text, content string }{{"", `null`}, {"Let me check.", `"Let me check."`}} {
		e := newToolServer(t, &toolRunner{text: c.text})
		body := readAll(e.do("POST", "/v1/chat/completions", "", toolRequest(false)))
		want := `,"choices":[{"index":0,"message":{"role":"assistant","content":` + c.content + `,"tool_calls":` + modelToolCalls +
			`,"refusal":null},"logprobs":null,"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":20,"completion_tokens":9,"total_tokens":29}}`
		if !strings.Contains(body, want) {
			t.Fatalf("body %s\nlacks %s", body, want)
		}
		var v struct {
			Choices []struct {
				Message struct {
					Content   *string           `json:"content"`
					ToolCalls []json.RawMessage `json:"tool_calls"`
				} `json:"message"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(body), &v); err != nil || len(v.Choices) != 1 || len(v.Choices[0].Message.ToolCalls) != 2 {
			t.Fatalf("decoding %s: %v", body, err)
		}
	}
}

// Streamed, text the model wrote goes out as it comes, then one chunk
// carries every call with its index, then the finish chunk has the
// model's finish_reason.
func TestChatToolCallsStream(t *testing.T) {
	for _, text := range []string{"", "Let me check the weather."} {
		e := newToolServer(t, &toolRunner{text: text})
		resp := e.do("POST", "/v1/chat/completions", "", strings.Replace(toolRequest(true), `"stream":true`, `"stream":true,"stream_options":{"include_usage":true}`, 1))
		events := readSSE(t, resp.Body)
		var deltas []string
		for _, ev := range events {
			if ev.data == "[DONE]" {
				continue
			}
			_, choices, ok := strings.Cut(ev.data, `,"choices":`)
			if !ok {
				t.Fatalf("event %q has no choices", ev.data)
			}
			deltas = append(deltas, choices)
		}
		want := []string{`[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}`}
		if text != "" {
			for _, word := range strings.SplitAfter(text, " ") {
				want = append(want, `[{"index":0,"delta":{"content":"`+word+`"},"logprobs":null,"finish_reason":null}],"usage":null}`)
			}
		}
		want = append(want,
			`[{"index":0,"delta":`+toolCallsDelta+`,"logprobs":null,"finish_reason":null}],"usage":null}`,
			`[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}],"usage":null}`,
			`[],"usage":{"prompt_tokens":20,"completion_tokens":9,"total_tokens":29}}`)
		if !reflect.DeepEqual(deltas, want) || events[len(events)-1].data != "[DONE]" {
			t.Fatalf("text %q: stream\n%s\nwant\n%s", text, strings.Join(deltas, "\n"), strings.Join(want, "\n"))
		}
	}
}

// Tools with model taskrouter are refused before anything runs: a
// planned answer never calls them.
func TestChatToolsNeedAModel(t *testing.T) {
	runner := &toolRunner{}
	e := newToolServer(t, runner)
	body := strings.Replace(toolRequest(true), `"model":"m"`, `"model":"taskrouter"`, 1)
	got := wantError(t, e.do("POST", "/v1/chat/completions", "", body), 400, "tools_need_model")
	if got.Error.Param == nil || *got.Error.Param != "tools" || !strings.Contains(got.Error.Message, "GET /v1/models") {
		t.Fatalf("error = %+v", got.Error)
	}
	if n := len(runner.ran()); n != 0 {
		t.Fatalf("the runner ran %d refused requests", n)
	}
}

// Function calling over the whole path (HTTP API, router, NATS, executor,
// OpenAI adapter) against the scripted upstream: the model calls the
// function, the client sends the result back, and the model answers; the
// same exchange streamed.
func TestToolCallsRoundTripThroughTheUpstream(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.upstream.Script("gpt-test", openaitest.Behaviour{Reply: "It is 21 degrees in Paris.", ToolCallsFunc: func(msgs []task.Message) []openaitest.ToolCall {
		if msgs[len(msgs)-1].Role == "tool" {
			return nil // it has the result: answer
		}
		return []openaitest.ToolCall{{ID: "call_w1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}
	}})
	tools := []any{map[string]any{"type": "function", "function": map[string]any{"name": "get_weather",
		"parameters": map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}}}}
	for _, stream := range []bool{false, true} {
		body := chatBody("gpt-test", stream, "user", "Weather in Paris?")
		body["tools"] = tools
		first := readCompletion(t, e.do("POST", "/v1/chat/completions", "", body), stream)
		if first.finish != "tool_calls" || !strings.Contains(first.toolCalls, `"call_w1"`) || !strings.Contains(first.toolCalls, `{\"city\":\"Paris\"}`) {
			t.Fatalf("stream %v, turn 1: finish %q, tool calls %s", stream, first.finish, first.toolCalls)
		}
		body["messages"] = append(body["messages"].([]map[string]any),
			map[string]any{"role": "assistant", "content": nil, "tool_calls": json.RawMessage(first.toolCalls)},
			map[string]any{"role": "tool", "tool_call_id": "call_w1", "content": `{"temp":21}`})
		second := readCompletion(t, e.do("POST", "/v1/chat/completions", "", body), stream)
		if second.finish != "stop" || second.content != "It is 21 degrees in Paris." {
			t.Fatalf("stream %v, turn 2: finish %q, content %q", stream, second.finish, second.content)
		}
		rec, _ := e.upstream.Last("gpt-test")
		if n := len(rec.Messages); n < 3 || rec.Messages[n-1].ToolCallID != "call_w1" || len(rec.Messages[n-2].ToolCalls) == 0 {
			t.Fatalf("stream %v: the upstream got messages %+v", stream, rec.Messages)
		}
	}
}

// callAccumulator puts streamed tool calls together from their deltas by
// index, as OpenAI's clients do.
type callAccumulator map[int]*struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

func (a callAccumulator) add(t *testing.T, raw json.RawMessage) {
	t.Helper()
	var deltas []struct {
		Index    int    `json:"index"`
		ID       string `json:"id"`
		Type     string `json:"type"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	}
	if err := json.Unmarshal(raw, &deltas); err != nil {
		t.Fatalf("tool call deltas %s: %v", raw, err)
	}
	for _, d := range deltas {
		c := a[d.Index]
		if c == nil {
			c = &struct {
				ID       string `json:"id"`
				Type     string `json:"type"`
				Function struct {
					Name      string `json:"name"`
					Arguments string `json:"arguments"`
				} `json:"function"`
			}{}
			a[d.Index] = c
		}
		if d.ID != "" {
			c.ID = d.ID
		}
		if d.Type != "" {
			c.Type = d.Type
		}
		c.Function.Name += d.Function.Name
		c.Function.Arguments += d.Function.Arguments
	}
}

func (a callAccumulator) json(t *testing.T) string {
	list := make([]any, len(a))
	for i := range list {
		list[i] = a[i]
	}
	b, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// completionSummary is what a test reads of a chat completion, streamed or not.
type completionSummary struct{ content, finish, toolCalls string }

func readCompletion(t *testing.T, resp *http.Response, stream bool) completionSummary {
	t.Helper()
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var s completionSummary
	calls := callAccumulator{}
	type choice struct {
		Message, Delta struct {
			Content   *string         `json:"content"`
			ToolCalls json.RawMessage `json:"tool_calls"`
		}
		FinishReason *string `json:"finish_reason"`
	}
	take := func(c choice) {
		for _, m := range []struct {
			Content   *string         `json:"content"`
			ToolCalls json.RawMessage `json:"tool_calls"`
		}{c.Message, c.Delta} {
			if m.Content != nil {
				s.content += *m.Content
			}
			if len(m.ToolCalls) > 0 {
				s.toolCalls = string(m.ToolCalls)
				if stream {
					calls.add(t, m.ToolCalls)
				}
			}
		}
		if c.FinishReason != nil {
			s.finish = *c.FinishReason
		}
	}
	if !stream {
		var out struct{ Choices []choice }
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.Choices) != 1 {
			t.Fatalf("decoding the completion: %v", err)
		}
		take(out.Choices[0])
		return s
	}
	for _, ev := range readSSE(t, resp.Body) {
		var chunk struct{ Choices []choice }
		if ev.comment || json.Unmarshal([]byte(ev.data), &chunk) != nil {
			continue
		}
		for _, c := range chunk.Choices {
			take(c)
		}
	}
	if len(calls) > 0 {
		s.toolCalls = calls.json(t)
	}
	return s
}
