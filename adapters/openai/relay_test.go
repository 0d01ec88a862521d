package openai

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/task"
	"github.com/tidwall/gjson"
)

// clientBody is a chat request as a client writes it, with every field a
// gateway tends to drop or rewrite, and one no version of the API has.
const clientBody = `{"model":"alias","messages":[{"role":"system","content":"Be brief."},` +
	`{"role":"user","name":"ana","content":[{"type":"text","text":"Hello"},{"type":"text","text":"world"}]}],` +
	`"user":"u-42","logprobs":true,"top_logprobs":2,"logit_bias":{"50256":-100},"metadata":{"k":"v"},"store":false,` +
	`"service_tier":"default","reasoning_effort":"low","response_format":{"type":"json_schema","json_schema":{"name":"a","schema":{"type":"object"}}},` +
	`"x_vendor_extension":{"keep":[1,2]}}`

// withoutModel decodes a body and drops its model, to compare the rest.
func withoutModel(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	delete(v, "model")
	return v
}

func relayModel(t *testing.T, s *openaitest.Server, upstream string, caps ...string) *Model {
	t.Helper()
	spec := testSpec(s, "alias")
	spec.UpstreamModel, spec.Capabilities, spec.MaxOutputTokens = upstream, caps, 4096
	return newModel(t, spec, testKey)
}

// The upstream gets the client's body as it was, but for the model, and
// the client gets the upstream's answer as it was: logprobs, fingerprint
// and usage details included.
func TestRelaySendsTheBodyAsIs(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	s.Script("up-1", openaitest.Behaviour{Reply: `{"a":1}`})
	m := relayModel(t, s, "up-1", "chat")
	out, err := m.Relay(context.Background(), &task.Work{Input: "world", Body: []byte(clientBody)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := s.Last("up-1")
	if rec.Model != "up-1" || !reflect.DeepEqual(withoutModel(t, rec.Body), withoutModel(t, []byte(clientBody))) {
		t.Fatalf("the upstream got\n%s\nfor\n%s", rec.Body, clientBody)
	}
	if rec.Authorization != "Bearer "+testKey || len(rec.Messages) != 2 {
		t.Fatalf("auth %q, messages %+v", rec.Authorization, rec.Messages)
	}
	body := gjson.ParseBytes(out.Body)
	if body.Get("system_fingerprint").Str != "fp_openaitest" || len(body.Get("choices.0.logprobs.content").Array()) != 1 ||
		!body.Get("usage.completion_tokens_details.reasoning_tokens").Exists() || body.Get("model").Str != "up-1" {
		t.Fatalf("the answer lost fields: %s", out.Body)
	}
	if out.Text != `{"a":1}` || out.Format != "json" || out.FinishReason != "stop" || out.Usage.CompletionTokens != 1 || out.Usage.CostUSD == 0 {
		t.Fatalf("output %+v", out)
	}
}

// Streamed, every chunk goes on as the upstream sent it, with its text;
// the output is put together from them.
func TestRelayStreamForwardsEveryChunk(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	s.Script("up-1", openaitest.Behaviour{Reply: "one two three"})
	m := relayModel(t, s, "up-1", "chat")
	body := strings.Replace(clientBody, `"user":"u-42"`, `"stream":true,"stream_options":{"include_usage":true},"user":"u-42"`, 1)
	var chunks []string
	var text strings.Builder
	out, err := m.Relay(context.Background(), &task.Work{Body: []byte(body)}, func(raw []byte, delta string) {
		chunks = append(chunks, string(raw))
		text.WriteString(delta)
	})
	if err != nil {
		t.Fatal(err)
	}
	// role, three words, finish, usage
	if len(chunks) != 6 || text.String() != "one two three" || out.Text != "one two three" || out.Body != nil {
		t.Fatalf("chunks %d %q, output %+v", len(chunks), text.String(), out)
	}
	for i, c := range chunks {
		v := gjson.Parse(c)
		if v.Get("model").Str != "up-1" || v.Get("system_fingerprint").Str != "fp_openaitest" {
			t.Fatalf("chunk %d: %s", i, c)
		}
	}
	if !strings.Contains(chunks[1], `"logprobs":{"content":[{"token":"one"`) || !strings.Contains(chunks[5], `"prompt_tokens_details"`) {
		t.Fatalf("chunks lost fields:\n%s", strings.Join(chunks, "\n"))
	}
	if out.Usage.CompletionTokens != 3 || out.FinishReason != "stop" {
		t.Fatalf("output %+v", out)
	}
	rec, _ := s.Last("up-1")
	if !reflect.DeepEqual(withoutModel(t, rec.Body), withoutModel(t, []byte(body))) {
		t.Fatalf("the upstream got %s", rec.Body)
	}
}

func TestRelayEmbeddingsAndCompletions(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	s.Script("up-e", openaitest.Behaviour{})
	s.Script("up-c", openaitest.Behaviour{Reply: "upon a time"})
	e := relayModel(t, s, "up-e", "embed")
	out, err := e.Relay(context.Background(), &task.Work{API: task.APIEmbeddings,
		Body: []byte(`{"model":"alias","input":["a b","c"],"encoding_format":"base64","dimensions":4,"user":"u"}`)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rec, _ := s.Last("up-e"); rec.Path != openaitest.PathEmbeddings || !strings.Contains(string(rec.Body), `"dimensions":4,"user":"u"`) {
		t.Fatalf("the upstream got %s at %s", rec.Body, rec.Path)
	}
	if n := len(gjson.GetBytes(out.Body, "data").Array()); n != 2 || out.Usage.PromptTokens != 3 || out.Text != "" {
		t.Fatalf("embeddings output %+v (%d vectors)", out, n)
	}
	c := relayModel(t, s, "up-c", "complete")
	out, err = c.Relay(context.Background(), &task.Work{API: task.APICompletions, Body: []byte(`{"model":"alias","prompt":"once","logprobs":1}`)}, nil)
	if err != nil || out.Text != "upon a time" || gjson.GetBytes(out.Body, "choices.0.logprobs.tokens").Raw == "" {
		t.Fatalf("completion %+v, %v", out, err)
	}
	var text strings.Builder
	out, err = c.Relay(context.Background(), &task.Work{API: task.APICompletions, Body: []byte(`{"model":"alias","prompt":"once","stream":true}`)},
		func(_ []byte, delta string) { text.WriteString(delta) })
	if err != nil || out.Text != "upon a time" || text.String() != "upon a time" || out.FinishReason != "stop" {
		t.Fatalf("streamed completion %+v %q, %v", out, text.String(), err)
	}
}

// Upstream failures of a relayed body get the codes Generate's get.
func TestRelayErrors(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	for _, c := range []struct {
		fail openaitest.Failure
		code task.Code
	}{{openaitest.FailRateLimit, task.CodeRateLimited}, {openaitest.FailServerError, task.CodeUpstream},
		{openaitest.FailContextLength, task.CodeContextLength}, {openaitest.FailUnauthorized, task.CodeAuth}} {
		for _, api := range []string{task.APIChat, task.APICompletions, task.APIEmbeddings} {
			s.Script("up", openaitest.Behaviour{Reply: "x", Fail: c.fail})
			_, err := relayModel(t, s, "up", "chat").Relay(context.Background(), &task.Work{API: api, Body: []byte(`{"model":"alias","messages":[],"prompt":"p","input":"i"}`)}, nil)
			if e := asTaskError(t, err); e.Code != c.code || strings.Contains(e.Message, testKey) {
				t.Errorf("%s, failure %d: %v", api, c.fail, err)
			}
		}
	}
	_, err := relayModel(t, s, "up", "chat").Relay(context.Background(), &task.Work{Body: []byte(`[1]`)}, nil)
	if e := asTaskError(t, err); e.Code != task.CodeInvalidRequest {
		t.Fatalf("a body that is no object: %v", err)
	}
}

// TestRelayStreamLongerThanTheBuffers relays a request body and a stream
// line many times the size of the connection's buffers (connBuffer) and
// of the stream's reader: both arrive whole.
func TestRelayStreamLongerThanTheBuffers(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	word := strings.Repeat("long", 4*connBuffer)
	s.Script("up-1", openaitest.Behaviour{Reply: "short " + word})
	m := relayModel(t, s, "up-1", "chat")
	prompt := strings.Repeat("Say hello. ", 50*connBuffer/10)
	body := `{"model":"alias","stream":true,"messages":[{"role":"user","content":"` + prompt + `"}]}`
	var text strings.Builder
	out, err := m.Relay(context.Background(), &task.Work{Body: []byte(body)}, func(_ []byte, delta string) { text.WriteString(delta) })
	if err != nil {
		t.Fatal(err)
	}
	if text.String() != "short "+word || out.Text != "short "+word {
		t.Fatalf("got %d bytes of text, %d in the output; want %d", text.Len(), len(out.Text), len("short "+word))
	}
	rec, _ := s.Last("up-1")
	if gjson.GetBytes(rec.Body, "messages.0.content").Str != prompt {
		t.Fatalf("the upstream got %d bytes of body for %d sent", len(rec.Body), len(body))
	}
}

// An upstream's response headers longer than the connection's buffers
// are read whole, and its stream is relayed after them.
func TestRelayStreamWithHeadersLongerThanTheBuffers(t *testing.T) {
	long := strings.Repeat("h", 8*connBuffer)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("X-Long", long)
		for i := range 20 {
			w.Header().Set(fmt.Sprintf("X-Many-%d", i), long[:connBuffer])
		}
		fmt.Fprint(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n")
		w.(http.Flusher).Flush()
		fmt.Fprint(w, "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")
	}))
	defer up.Close()
	spec := task.ModelSpec{Name: "alias", Backend: task.BackendOpenAI, BaseURL: up.URL, Capabilities: []string{"chat"}}
	m := newModel(t, spec, testKey)
	body := `{"model":"alias","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	var text strings.Builder
	out, err := m.Relay(context.Background(), &task.Work{Body: []byte(body)}, func(_ []byte, delta string) { text.WriteString(delta) })
	if err != nil || text.String() != "hi" || out.Text != "hi" {
		t.Fatalf("relayed %q, output %q, err %v; want hi", text.String(), out.Text, err)
	}
}
