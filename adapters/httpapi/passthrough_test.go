package httpapi_test

import (
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/taskrouter/taskrouter/adapters/httpapi"
	"github.com/taskrouter/taskrouter/adapters/openai"
	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/task"
)

// aliasModel is a registered model whose upstream id differs from its
// name, with every capability an OpenAI-compatible server offers.
func aliasModel(t *testing.T, e *env) executors.Served {
	t.Helper()
	spec := task.ModelSpec{Name: "alias", Backend: task.BackendOpenAI, BaseURL: e.upstream.URL(), UpstreamModel: "up-alias",
		Capabilities: []string{"chat", "embed", "complete"}, MaxOutputTokens: 4096, Concurrency: 8}
	m, err := openai.New(spec, "sk-test")
	if err != nil {
		t.Fatal(err)
	}
	return executors.Served{Spec: spec, Model: m}
}

// newAliasEnv is the real pipeline with model "alias" served by the
// scripted upstream as "up-alias".
func newAliasEnv(t *testing.T, cfg httpapi.Config) *env {
	t.Helper()
	e := newEnv(t, envOptions{cfg: cfg})
	e.upstream.Script("up-alias", openaitest.Behaviour{Reply: "Foxes are small omnivores.", TokenDelay: time.Millisecond})
	nc := e.connect("alias-executor")
	ex, err := executors.Start(t.Context(), nc, executors.Config{ID: "alias-" + t.Name(), Models: []executors.Served{aliasModel(t, e)},
		Announcer: e.reg, Heartbeat: 200 * time.Millisecond, KeepAlive: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ex.Stop)
	return e
}

// passthroughBody is a chat request with every field gateways drop or
// rewrite: user, a message's name, logprobs, top_logprobs, logit_bias,
// metadata, store, service_tier, reasoning_effort, n, a field no API
// version has, a response_format without strict, text parts, and no
// max_tokens.
const passthroughBody = `{"model":"alias","messages":[{"role":"system","content":"Answer in one sentence."},` +
	`{"role":"user","name":"ana","content":[{"type":"text","text":"Tell me"},{"type":"text","text":"about foxes."}]}],` +
	`"user":"user-42","logprobs":true,"top_logprobs":2,"logit_bias":{"1734":-100},"metadata":{"team":"search"},"store":false,` +
	`"service_tier":"default","reasoning_effort":"low","n":2,"x_vendor_extension":{"keep":["me",1,null]},` +
	`"response_format":{"type":"json_schema","json_schema":{"name":"answer","schema":{"type":"object","properties":{"a":{"type":"string"}}}}}`

// sameBut reports whether two JSON objects are equal once their model is
// set aside, and what the model of got is.
func sameBut(t *testing.T, got []byte, want string) (bool, string) {
	t.Helper()
	var g, w map[string]any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: %v", want, err)
	}
	model, _ := g["model"].(string)
	delete(g, "model")
	delete(w, "model")
	return reflect.DeepEqual(g, w), model
}

// A model called by name behaves as the upstream called directly: the
// upstream gets the client's body as it was, but for the model's upstream
// id, and the client gets the upstream's answer, logprobs, fingerprint and
// usage details included, named as the client named the model.
func TestNamedModelIsATransparentPassthrough(t *testing.T) {
	e := newAliasEnv(t, httpapi.Config{})
	resp := e.do("POST", "/v1/chat/completions", "", passthroughBody+"}")
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get(httpapi.HeaderModel) != "alias" {
		t.Fatalf("status %d, model header %q: %s", resp.StatusCode, resp.Header.Get(httpapi.HeaderModel), data)
	}
	rec, _ := e.upstream.Last("up-alias")
	if same, model := sameBut(t, rec.Body, passthroughBody+"}"); !same || model != "up-alias" {
		t.Fatalf("the upstream got\n%s\nfor the client's\n%s}", rec.Body, passthroughBody)
	}
	got := gjson.ParseBytes(data)
	if got.Get("model").Str != "alias" || got.Get("system_fingerprint").Str != "fp_openaitest" || got.Get("object").Str != "chat.completion" ||
		len(got.Get("choices.0.logprobs.content").Array()) != 4 || len(got.Get("choices.0.logprobs.content.1.top_logprobs").Array()) != 2 ||
		!got.Get("usage.completion_tokens_details.reasoning_tokens").Exists() || !got.Get("usage.prompt_tokens_details.cached_tokens").Exists() ||
		got.Get("choices.0.message.content").Str != "Foxes are small omnivores." {
		t.Fatalf("the client got %s", data)
	}
}

// Streamed, every chunk of the upstream reaches the client as it was, but
// for the model, with [DONE] at the end.
func TestNamedModelStreamIsPassedThrough(t *testing.T) {
	e := newAliasEnv(t, httpapi.Config{})
	body := passthroughBody + `,"stream":true,"stream_options":{"include_usage":true}}`
	resp := e.do("POST", "/v1/chat/completions", "", body)
	if resp.StatusCode != 200 || resp.Header.Get(httpapi.HeaderModel) != "alias" {
		t.Fatalf("status %d, model header %q", resp.StatusCode, resp.Header.Get(httpapi.HeaderModel))
	}
	events := readSSE(t, resp.Body)
	rec, _ := e.upstream.Last("up-alias")
	if same, model := sameBut(t, rec.Body, body); !same || model != "up-alias" {
		t.Fatalf("the upstream got\n%s\nfor the client's\n%s", rec.Body, body)
	}
	var text strings.Builder
	var chunks []gjson.Result
	for _, ev := range events {
		if ev.comment {
			continue
		}
		chunks = append(chunks, gjson.Parse(ev.data))
	}
	if n := len(chunks); n < 3 || chunks[n-1].Raw != "[DONE]" {
		t.Fatalf("events %+v", events)
	}
	chunks = chunks[:len(chunks)-1]
	withLogprobs := 0
	for i, c := range chunks {
		if c.Get("model").Str != "alias" || c.Get("system_fingerprint").Str != "fp_openaitest" || c.Get("object").Str != "chat.completion.chunk" {
			t.Fatalf("chunk %d: %s", i, c.Raw)
		}
		text.WriteString(c.Get("choices.0.delta.content").Str)
		if len(c.Get("choices.0.logprobs.content").Array()) == 1 {
			withLogprobs++
		}
	}
	last := chunks[len(chunks)-1]
	if text.String() != "Foxes are small omnivores." || withLogprobs != 4 || !last.Get("usage.completion_tokens_details").Exists() {
		t.Fatalf("text %q, %d chunks with logprobs, last %s", text.String(), withLogprobs, last.Raw)
	}
}

type embeddingsAnswer struct {
	Object string `json:"object"`
	Model  string `json:"model"`
	Data   []struct {
		Index     int             `json:"index"`
		Embedding json.RawMessage `json:"embedding"`
	} `json:"data"`
	Usage struct {
		PromptTokens int `json:"prompt_tokens"`
	} `json:"usage"`
}

// /v1/embeddings and /v1/completions relay the client's body to a model
// that offers embed or complete, and its answer back.
func TestEmbeddingsAndCompletionsArePassedThrough(t *testing.T) {
	e := newAliasEnv(t, httpapi.Config{})
	emb := `{"model":"alias","input":["The fox.","The dog."],"encoding_format":"base64","dimensions":4,"user":"u-1","x_extra":true}`
	resp := e.do("POST", "/v1/embeddings", "", emb)
	a := decode[embeddingsAnswer](t, resp, 200)
	rec, _ := e.upstream.Last("up-alias")
	if same, model := sameBut(t, rec.Body, emb); !same || model != "up-alias" || rec.Path != openaitest.PathEmbeddings {
		t.Fatalf("the upstream got %s at %s", rec.Body, rec.Path)
	}
	if a.Object != "list" || a.Model != "alias" || len(a.Data) != 2 || a.Usage.PromptTokens != 4 || resp.Header.Get(httpapi.HeaderModel) != "alias" {
		t.Fatalf("embeddings answer %+v", a)
	}
	comp := `{"model":"alias","prompt":"Once upon a time","max_tokens":3,"logprobs":1,"suffix":null,"echo":false}`
	data := readAll(e.do("POST", "/v1/completions", "", comp))
	rec, _ = e.upstream.Last("up-alias")
	if same, _ := sameBut(t, rec.Body, comp); !same || rec.Path != openaitest.PathCompletions {
		t.Fatalf("the upstream got %s at %s", rec.Body, rec.Path)
	}
	c := gjson.Parse(data)
	if c.Get("object").Str != "text_completion" || c.Get("model").Str != "alias" || c.Get("choices.0.text").Str != "Foxes are small" ||
		c.Get("choices.0.finish_reason").Str != "length" || len(c.Get("choices.0.logprobs.tokens").Array()) != 3 || c.Get("system_fingerprint").Str == "" {
		t.Fatalf("completion %s", data)
	}
	events := readSSE(t, e.do("POST", "/v1/completions", "", `{"model":"alias","prompt":"Once","stream":true,"stream_options":{"include_usage":true}}`).Body)
	var text strings.Builder
	for _, ev := range events[:len(events)-1] {
		v := gjson.Parse(ev.data)
		if v.Get("object").Str != "text_completion" || v.Get("model").Str != "alias" {
			t.Fatalf("chunk %s", ev.data)
		}
		text.WriteString(v.Get("choices.0.text").Str)
	}
	if text.String() != "Foxes are small omnivores." || events[len(events)-1].data != "[DONE]" ||
		!gjson.Get(events[len(events)-2].data, "usage.total_tokens").Exists() {
		t.Fatalf("streamed %q in %+v", text.String(), events)
	}
}

// The relayed endpoints answer errors as chat does, behind the same keys
// and rate limits.
func TestRelayedEndpointErrors(t *testing.T) {
	limiter := newLimiter(t, 100)
	e := newAliasEnv(t, httpapi.Config{APIKeys: []string{"k1"}, Limiter: limiter})
	for _, c := range []struct {
		name, path, key, body string
		status                int
		code, param           string
	}{
		{"no key", "/v1/embeddings", "", `{"model":"alias","input":"x"}`, 401, "missing_api_key", ""},
		{"no key", "/v1/completions", "", `{"model":"alias","prompt":"x"}`, 401, "missing_api_key", ""},
		{"unknown model", "/v1/embeddings", "k1", `{"model":"nope","input":"x"}`, 404, "model_not_found", "model"},
		{"unknown model", "/v1/completions", "k1", `{"model":"nope","prompt":"x","stream":true}`, 404, "model_not_found", "model"},
		{"model without embed", "/v1/embeddings", "k1", `{"model":"gpt-test","input":"x"}`, 400, "model_lacks_capability", "model"},
		{"model without complete", "/v1/completions", "k1", `{"model":"gpt-test","prompt":"x"}`, 400, "model_lacks_capability", "model"},
		{"taskrouter", "/v1/embeddings", "k1", `{"model":"taskrouter","input":"x"}`, 400, "model_lacks_capability", "model"},
		{"no model", "/v1/embeddings", "k1", `{"input":"x"}`, 400, "missing_model", "model"},
		{"no input", "/v1/embeddings", "k1", `{"model":"alias"}`, 400, "invalid_type", "input"},
		{"bad input", "/v1/embeddings", "k1", `{"model":"alias","input":[{"a":1}]}`, 400, "invalid_type", "input"},
		{"streamed embeddings", "/v1/embeddings", "k1", `{"model":"alias","input":"x","stream":true}`, 400, "invalid_value", "stream"},
		{"no prompt", "/v1/completions", "k1", `{"model":"alias"}`, 400, "invalid_type", "prompt"},
		{"bad json", "/v1/completions", "k1", `{"model":`, 400, "invalid_json", ""},
	} {
		t.Run(c.name+c.path, func(t *testing.T) {
			got := wantError(t, e.do("POST", c.path, c.key, c.body), c.status, c.code)
			if c.param != "" && (got.Error.Param == nil || *got.Error.Param != c.param) {
				t.Fatalf("param %v, want %s", got.Error.Param, c.param)
			}
		})
	}
	wantError(t, e.do("GET", "/v1/embeddings", "k1", nil), 405, "method_not_allowed")
	if limiter.taken.Load() == 0 {
		t.Fatal("the relayed endpoints took no rate-limit token")
	}
	e.upstream.Script("up-alias", openaitest.Behaviour{Fail: openaitest.FailRateLimit, RetryAfter: 2 * time.Second})
	resp := e.do("POST", "/v1/embeddings", "k1", `{"model":"alias","input":"x"}`)
	wantError(t, resp, 429, "rate_limited")
	if resp.Header.Get("Retry-After") == "" {
		t.Fatal("a 429 upstream gave no Retry-After")
	}
}

// A job naming a model runs the caller's input on it as it is: no
// instruction of taskrouter's and no default max_tokens.
func TestJobNamingAModelIsPassedThrough(t *testing.T) {
	e := newAliasEnv(t, httpapi.Config{})
	var created struct{ ID string }
	created = decode[struct{ ID string }](t, e.do("POST", "/v1/jobs", "", `{"model":"alias","input":"Tell me about foxes.","temperature":0.2}`), 202)
	if j := e.waitJob(created.ID, ""); j.Answer != "Foxes are small omnivores." {
		t.Fatalf("job %+v", j)
	}
	rec, _ := e.upstream.Last("up-alias")
	var got map[string]any
	_ = json.Unmarshal(rec.Body, &got)
	want := map[string]any{"model": "up-alias", "messages": []any{map[string]any{"role": "user", "content": "Tell me about foxes."}},
		"temperature": 0.2, "stream": true, "stream_options": map[string]any{"include_usage": true}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("the upstream got %s", rec.Body)
	}
}

// A request streamed to a model that cannot relay its body (a built-in
// local model) still gets taskrouter's own chunks.
func TestLocalModelNamedStillAnswers(t *testing.T) {
	e := newAliasEnv(t, httpapi.Config{})
	c := decode[completionObject](t, e.do("POST", "/v1/chat/completions", "", chatBody("local/slow", false, "user", "Summarize foxes.")), 200)
	if c.Choices[0].Message.Content != "summarize(Summarize foxes.)" || c.Model != "local/slow" {
		t.Fatalf("completion %+v", c)
	}
	events := readSSE(t, e.do("POST", "/v1/chat/completions", "", chatBody("local/slow", true, "user", "Summarize foxes.")).Body)
	if last := events[len(events)-1]; last.data != "[DONE]" || !strings.Contains(events[len(events)-4].data, "summarize(Summarize foxes.)") {
		t.Fatalf("events %+v", events)
	}
}
