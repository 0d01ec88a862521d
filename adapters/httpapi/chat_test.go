package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/taskrouter/taskrouter/adapters/httpapi"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/task"
)

type completionObject struct {
	ID                string          `json:"id"`
	Object            string          `json:"object"`
	Created           int64           `json:"created"`
	Model             string          `json:"model"`
	SystemFingerprint *string         `json:"system_fingerprint"`
	Choices           []choiceObject  `json:"choices"`
	Usage             *usageObject    `json:"usage"`
	Raw               json.RawMessage `json:"-"`
}

type choiceObject struct {
	Index   int `json:"index"`
	Message *struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"message"`
	Delta *struct {
		Role    string  `json:"role"`
		Content *string `json:"content"`
	} `json:"delta"`
	FinishReason *string `json:"finish_reason"`
}

type usageObject struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

func chatBody(model string, stream bool, msgs ...string) map[string]any {
	var m []map[string]any
	for i := 0; i+1 < len(msgs); i += 2 {
		m = append(m, map[string]any{"role": msgs[i], "content": msgs[i+1]})
	}
	body := map[string]any{"model": model, "messages": m}
	if stream {
		body["stream"] = true
		body["stream_options"] = map[string]any{"include_usage": true}
	}
	return body
}

func TestChatCompletionWireFormat(t *testing.T) {
	e := newEnv(t, envOptions{})
	start := time.Now().Unix()
	resp := e.do("POST", "/v1/chat/completions", "", chatBody("gpt-test", false,
		"system", "Be brief.", "user", "Hello", "assistant", "Hi!", "user", "Tell me about foxes."))
	c := decode[completionObject](t, resp, 200)
	if !strings.HasPrefix(c.ID, "chatcmpl-") || c.Object != "chat.completion" || c.Model != "gpt-test" || c.Created < start {
		t.Fatalf("completion head = %+v", c)
	}
	if len(c.Choices) != 1 || c.Choices[0].Message == nil || c.Choices[0].Message.Role != "assistant" ||
		c.Choices[0].Message.Content != reply || c.Choices[0].FinishReason == nil || *c.Choices[0].FinishReason != "stop" {
		t.Fatalf("choices = %+v", c.Choices)
	}
	if c.Usage == nil || c.Usage.CompletionTokens == 0 || c.Usage.TotalTokens != c.Usage.PromptTokens+c.Usage.CompletionTokens {
		t.Fatalf("usage = %+v", c.Usage)
	}
	if resp.Header.Get("Content-Type") != "application/json" || !strings.HasPrefix(resp.Header.Get("X-Request-Id"), "req_") {
		t.Fatalf("headers = %v", resp.Header)
	}
	// The conversation reached the model: earlier turns as context, the
	// last user message as the input.
	rec, _ := e.upstream.Last("gpt-test")
	var roles []string
	for _, m := range rec.Messages {
		roles = append(roles, m.Role)
	}
	last := rec.Messages[len(rec.Messages)-1]
	if got := strings.Join(roles, ","); !strings.Contains(got, "user,assistant,user") || last.Content != "Tell me about foxes." {
		t.Fatalf("upstream saw roles %s, last %+v", got, last)
	}
}

func TestChatStreamForwardsDeltas(t *testing.T) {
	e := newEnv(t, envOptions{})
	resp := e.do("POST", "/v1/chat/completions", "", chatBody("gpt-test", true, "user", "Tell me about foxes."))
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events := readSSE(t, resp.Body)
	if len(events) < 4 || events[len(events)-1].data != "[DONE]" {
		t.Fatalf("the stream does not end with [DONE]: %+v", events)
	}
	var text strings.Builder
	contentChunks, finishes := 0, 0
	var usage *usageObject
	id := ""
	for _, ev := range events[:len(events)-1] {
		var c completionObject
		if err := json.Unmarshal([]byte(ev.data), &c); err != nil {
			t.Fatalf("chunk %q: %v", ev.data, err)
		}
		if c.Object != "chat.completion.chunk" || c.Model != "gpt-test" || (id != "" && c.ID != id) {
			t.Fatalf("chunk head = %+v", c)
		}
		id = c.ID
		if c.Usage != nil {
			usage = c.Usage
			if len(c.Choices) != 0 {
				t.Fatal("the usage chunk has choices")
			}
			continue
		}
		ch := c.Choices[0]
		if ch.Delta.Content != nil && *ch.Delta.Content != "" {
			text.WriteString(*ch.Delta.Content)
			contentChunks++
		}
		if ch.FinishReason != nil {
			finishes++
		}
	}
	if text.String() != reply || finishes != 1 || usage == nil || usage.TotalTokens == 0 {
		t.Fatalf("text %q, %d finish chunks, usage %+v", text.String(), finishes, usage)
	}
	if contentChunks < 5 {
		t.Fatalf("the answer came in %d content chunks; deltas were not forwarded as they arrived", contentChunks)
	}
}

// A plan of several subtasks streams its merged answer when ready, with
// keep-alive comments while the subtasks run.
func TestChatStreamMultiSubtaskPlan(t *testing.T) {
	slowChat := executors.Served{Spec: task.ModelSpec{Name: "m/chat", Backend: task.BackendLocal, Capabilities: []string{"chat"}, Concurrency: 4},
		Model: slow(300*time.Millisecond, nil)}
	e := newEnv(t, envOptions{cfg: httpapi.Config{KeepAlive: 50 * time.Millisecond}, models: []executors.Served{slowChat}})
	body := chatBody(httpapi.ModelTaskrouter, true, "user", "red and blue")
	body["prefer_local"] = true // m/chat, not gpt-test
	resp := e.do("POST", "/v1/chat/completions", "", body)
	events := readSSE(t, resp.Body)
	comments, content := 0, ""
	for _, ev := range events {
		if ev.comment {
			comments++
			continue
		}
		var c completionObject
		if json.Unmarshal([]byte(ev.data), &c) == nil && len(c.Choices) == 1 && c.Choices[0].Delta.Content != nil {
			content += *c.Choices[0].Delta.Content
		}
	}
	if comments == 0 {
		t.Fatal("no keep-alive comment while the subtasks ran")
	}
	if !strings.Contains(content, "chat(red)") || !strings.Contains(content, "chat(blue)") {
		t.Fatalf("merged answer = %q", content)
	}
}

func TestChatErrors(t *testing.T) {
	e := newEnv(t, envOptions{cfg: httpapi.Config{MaxBodyBytes: 1 << 10}})
	cases := []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"unknown model", "POST", "/v1/chat/completions", chatBody("no-such-model", false, "user", "hi"), 404, "model_not_found"},
		{"unknown model streaming", "POST", "/v1/chat/completions", chatBody("no-such-model", true, "user", "hi"), 404, "model_not_found"},
		{"no model", "POST", "/v1/chat/completions", chatBody("", false, "user", "hi"), 400, "missing_model"},
		{"no user message", "POST", "/v1/chat/completions", chatBody("gpt-test", false, "system", "x"), 400, "missing_user_message"},
		{"bad role", "POST", "/v1/chat/completions", chatBody("gpt-test", false, "robot", "x"), 400, "invalid_role"},
		{"bad json", "POST", "/v1/chat/completions", `{"model":`, 400, "invalid_json"},
		{"image part for taskrouter", "POST", "/v1/chat/completions", `{"model":"taskrouter","messages":[{"role":"user","content":[{"type":"text","text":"what?"},{"type":"image_url","image_url":{"url":"x"}}]}]}`, 400, "unsupported_content"},
		{"image part for a local model", "POST", "/v1/chat/completions", `{"model":"local/slow","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}`, 400, "unsupported_content"},
		{"part without a type", "POST", "/v1/chat/completions", `{"model":"gpt-test","messages":[{"role":"user","content":[{"text":"x"}]}]}`, 400, "invalid_content"},
		{"model not a string", "POST", "/v1/chat/completions", `{"model":5,"messages":[{"role":"user","content":"x"}]}`, 400, "invalid_type"},
		{"messages not an array", "POST", "/v1/chat/completions", `{"model":"gpt-test","messages":"hi"}`, 400, "invalid_type"},
		{"n=2 for taskrouter", "POST", "/v1/chat/completions", `{"model":"taskrouter","n":2,"messages":[{"role":"user","content":"x"}]}`, 400, "unsupported_n"},
		{"n=2 for a local model", "POST", "/v1/chat/completions", `{"model":"local/slow","n":2,"messages":[{"role":"user","content":"x"}]}`, 400, "unsupported_n"},
		{"n=0", "POST", "/v1/chat/completions", `{"model":"gpt-test","n":0,"messages":[{"role":"user","content":"x"}]}`, 400, "invalid_value"},
		{"tools with taskrouter", "POST", "/v1/chat/completions", `{"model":"taskrouter","tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"x"}]}`, 400, "tools_need_model"},
		{"bad tools", "POST", "/v1/chat/completions", `{"model":"gpt-test","tools":[{"type":"function"}],"messages":[{"role":"user","content":"x"}]}`, 400, "invalid_value"},
		{"tools for a local model", "POST", "/v1/chat/completions", `{"model":"local/slow","tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"x"}]}`, 400, "tools_unsupported_by_model"},
		{"functions", "POST", "/v1/chat/completions", `{"model":"gpt-test","functions":[{"name":"f"}],"function_call":"auto","messages":[{"role":"user","content":"x"}]}`, 400, "unsupported_functions"},
		{"tool message without its call", "POST", "/v1/chat/completions", `{"model":"gpt-test","messages":[{"role":"user","content":"x"},{"role":"tool","content":"y"}]}`, 400, "missing_tool_call_id"},
		{"too large", "POST", "/v1/chat/completions", chatBody("gpt-test", false, "user", strings.Repeat("x", 2<<10)), 413, "request_too_large"},
		{"wrong method", "GET", "/v1/chat/completions", nil, 405, "method_not_allowed"},
		{"unknown url", "GET", "/v2/nothing", nil, 404, "unknown_url"},
	}
	wantParam := map[string]string{"model_not_found": "model", "tools_need_model": "tools", "invalid_value": "tools",
		"unsupported_functions": "functions", "missing_tool_call_id": "messages[1].tool_call_id", "unsupported_content": "messages[0].content",
		"invalid_content": "messages[0].content", "unsupported_n": "n"}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := wantError(t, e.do(c.method, c.path, "", c.body), c.status, c.code)
			param := wantParam[c.code]
			if c.name == "n=0" {
				param = "n"
			}
			if param != "" && (got.Error.Param == nil || *got.Error.Param != param) {
				t.Fatalf("param = %v, want %s", got.Error.Param, param)
			}
		})
	}
}

// Content arrays reach a model named by the request as sent, images
// too; taskrouter's own steps read their text parts, one per line.
func TestChatContentParts(t *testing.T) {
	e := newEnv(t, envOptions{})
	parts := `[{"type":"text","text":"Tell me"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}},{"type":"text","text":"about foxes."}]`
	decode[completionObject](t, e.do("POST", "/v1/chat/completions", "", `{"model":"gpt-test","messages":[{"role":"user","content":`+parts+`}]}`), 200)
	rec, _ := e.upstream.Last("gpt-test")
	if got := gjson.GetBytes(rec.Body, "messages.0.content").Raw; got != parts {
		t.Fatalf("upstream saw %s", got)
	}
	c := decode[completionObject](t, e.do("POST", "/v1/chat/completions", "", `{"model":"taskrouter","messages":[{"role":"user","content":[{"type":"text","text":"Tell me"},{"type":"text","text":"about foxes."}]}]}`), 200)
	if c.Model != httpapi.ModelTaskrouter {
		t.Fatalf("a planned answer says model %q; the client asked taskrouter", c.Model)
	}
	rec, _ = e.upstream.Last("gpt-test")
	if got := rec.Messages[len(rec.Messages)-1].Content; got != "Tell me\nabout foxes." {
		t.Fatalf("taskrouter's step read %q", got)
	}
}

func TestModels(t *testing.T) {
	e := newEnv(t, envOptions{})
	list := decode[struct {
		Object string `json:"object"`
		Data   []struct {
			ID      string `json:"id"`
			Object  string `json:"object"`
			Created int64  `json:"created"`
			OwnedBy string `json:"owned_by"`
		} `json:"data"`
	}](t, e.do("GET", "/v1/models", "", nil), 200)
	var ids []string
	for _, m := range list.Data {
		if m.Object != "model" || m.Created == 0 || m.OwnedBy == "" {
			t.Fatalf("model entry %+v", m)
		}
		ids = append(ids, m.ID)
	}
	if list.Object != "list" || strings.Join(ids, ",") != "taskrouter,gpt-test,local/slow" {
		t.Fatalf("models = %s %v", list.Object, ids)
	}
	one := decode[map[string]any](t, e.do("GET", "/v1/models/local/slow", "", nil), 200)
	if one["id"] != "local/slow" {
		t.Fatalf("GET /v1/models/local/slow = %v", one)
	}
	wantError(t, e.do("GET", "/v1/models/nope", "", nil), 404, "model_not_found")
}

func TestHealthz(t *testing.T) {
	e := newEnv(t, envOptions{cfg: httpapi.Config{APIKeys: []string{"k"}}})
	got := decode[map[string]string](t, e.do("GET", "/healthz", "", nil), 200)
	if got["status"] != "ok" {
		t.Fatalf("healthz = %v", got)
	}
}

// A request that takes longer than the read timeout still completes: the
// read deadline covers receiving the request only.
func TestLongAnswerOutlivesReadTimeout(t *testing.T) {
	e := newEnv(t, envOptions{cfg: httpapi.Config{ReadTimeout: 100 * time.Millisecond, WriteTimeout: 100 * time.Millisecond}})
	e.upstream.Script("gpt-test", openaitestSlowReply())
	resp := e.do("POST", "/v1/chat/completions", "", chatBody("gpt-test", true, "user", "hi"))
	events := readSSE(t, resp.Body)
	if len(events) == 0 || events[len(events)-1].data != "[DONE]" {
		t.Fatalf("a 400ms stream was cut: %+v", events)
	}
	resp = e.do("POST", "/v1/chat/completions", "", chatBody("gpt-test", false, "user", "hi"))
	decode[completionObject](t, resp, http.StatusOK)
}

// A model-written merge streams as it is written.
func TestChatStreamForwardsModelMerge(t *testing.T) {
	merger := funcModel(func(ctx context.Context, w task.Work, progress func(string)) (task.Output, error) {
		parts := []string{"Red", " and", " blue", " are", " colours."}
		for _, p := range parts {
			progress(p)
			time.Sleep(5 * time.Millisecond)
		}
		return task.Output{Text: strings.Join(parts, "")}, nil
	})
	e := newEnv(t, envOptions{models: []executors.Served{
		{Spec: task.ModelSpec{Name: "m/merge", Backend: task.BackendLocal, Capabilities: []string{"merge"}, Concurrency: 2}, Model: merger},
	}})
	events := readSSE(t, e.do("POST", "/v1/chat/completions", "", chatBody(httpapi.ModelTaskrouter, true, "user", "red and blue")).Body)
	var text strings.Builder
	chunks := 0
	for _, ev := range events {
		var c completionObject
		if json.Unmarshal([]byte(ev.data), &c) == nil && len(c.Choices) == 1 && c.Choices[0].Delta.Content != nil && *c.Choices[0].Delta.Content != "" {
			text.WriteString(*c.Choices[0].Delta.Content)
			chunks++
		}
	}
	if text.String() != "Red and blue are colours." || chunks != 5 {
		t.Fatalf("streamed %q in %d chunks; want the merge model's 5 pieces", text.String(), chunks)
	}
}

// Tools the model may not call (tool_choice "none", or an empty list)
// leave an answer in text, from a named model and from taskrouter.
func TestChatHarmlessToolsAreAccepted(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, body := range []string{
		`{"model":"gpt-test","tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"none","messages":[{"role":"user","content":"x"}]}`,
		`{"model":"gpt-test","tools":[],"messages":[{"role":"user","content":"x"}]}`,
		`{"model":"taskrouter","tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"none","messages":[{"role":"user","content":"x"}]}`,
		`{"model":"taskrouter","tools":[],"tool_choice":"auto","messages":[{"role":"user","content":"x"}]}`,
	} {
		c := decode[completionObject](t, e.do("POST", "/v1/chat/completions", "", body), http.StatusOK)
		if len(c.Choices) != 1 || c.Choices[0].Message == nil || c.Choices[0].Message.Content == "" || *c.Choices[0].FinishReason != "stop" {
			t.Fatalf("%s: choices %+v", body, c.Choices)
		}
	}
}
