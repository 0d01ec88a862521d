package openaitest

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

func postTo(t *testing.T, s *Server, path, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(strings.TrimSuffix(s.URL(), "/v1")+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// The server keeps the body exactly as it came, whatever the endpoint.
func TestRecordsTheRawBody(t *testing.T) {
	s := New()
	defer s.Close()
	s.Script("m", Behaviour{Reply: "ok"})
	for _, path := range []string{PathChat, PathCompletions, PathEmbeddings} {
		body := `{ "model" : "m", "messages":[{"role":"user","content":"x"}], "prompt":"p", "input":"i", "x_unknown": [1, {"a":null}] }`
		if resp := postTo(t, s, path, body); resp.StatusCode != 200 {
			t.Fatalf("%s: status %d", path, resp.StatusCode)
		}
		rec, ok := s.Last("m")
		if !ok || rec.Path != path || string(rec.Body) != body {
			t.Fatalf("%s: recorded path %q body %s", path, rec.Path, rec.Body)
		}
	}
	if n := s.Calls("m"); n != 3 {
		t.Fatalf("calls = %d, want 3", n)
	}
}

type embeddingList struct {
	Object string `json:"object"`
	Model  string `json:"model"`
	Data   []struct {
		Object    string          `json:"object"`
		Index     int             `json:"index"`
		Embedding json.RawMessage `json:"embedding"`
	} `json:"data"`
	Usage struct {
		PromptTokens int `json:"prompt_tokens"`
		TotalTokens  int `json:"total_tokens"`
	} `json:"usage"`
}

func TestEmbeddings(t *testing.T) {
	s := New()
	defer s.Close()
	s.Script("e", Behaviour{})
	var floats, b64 embeddingList
	_ = json.NewDecoder(postTo(t, s, PathEmbeddings, `{"model":"e","input":["hello world","bye"]}`).Body).Decode(&floats)
	_ = json.NewDecoder(postTo(t, s, PathEmbeddings, `{"model":"e","input":["hello world","bye"],"encoding_format":"base64"}`).Body).Decode(&b64)
	if floats.Object != "list" || floats.Model != "e" || len(floats.Data) != 2 || floats.Data[1].Index != 1 || floats.Usage.PromptTokens != 3 {
		t.Fatalf("floats = %+v", floats)
	}
	for i := range 2 {
		var v []float32
		if err := json.Unmarshal(floats.Data[i].Embedding, &v); err != nil || len(v) != DefaultDimensions {
			t.Fatalf("embedding %d = %s: %v", i, floats.Data[i].Embedding, err)
		}
		var s string
		_ = json.Unmarshal(b64.Data[i].Embedding, &s)
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(raw) != 4*len(v) {
			t.Fatalf("base64 embedding %d = %q: %v", i, s, err)
		}
		for j := range v {
			if got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*j:])); got != v[j] {
				t.Fatalf("base64 [%d][%d] = %v, floats %v", i, j, got, v[j])
			}
		}
	}
	var dims embeddingList
	_ = json.NewDecoder(postTo(t, s, PathEmbeddings, `{"model":"e","input":[[1,2,3]],"dimensions":3}`).Body).Decode(&dims)
	var v []float32
	if len(dims.Data) != 1 || json.Unmarshal(dims.Data[0].Embedding, &v) != nil || len(v) != 3 {
		t.Fatalf("dimensions 3: %+v", dims)
	}
	if resp := postTo(t, s, PathEmbeddings, `{"model":"e","input":7}`); resp.StatusCode != 400 {
		t.Fatalf("a bad input got %d", resp.StatusCode)
	}
}

type textCompletion struct {
	ID                string `json:"id"`
	Object            string `json:"object"`
	Model             string `json:"model"`
	SystemFingerprint string `json:"system_fingerprint"`
	Choices           []struct {
		Text         string          `json:"text"`
		Logprobs     json.RawMessage `json:"logprobs"`
		FinishReason *string         `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
}

func TestTextCompletions(t *testing.T) {
	s := New()
	defer s.Close()
	s.Script("c", Behaviour{ReplyFunc: func(msgs []task.Message) string { return "after " + msgs[0].Content }})
	var c textCompletion
	_ = json.NewDecoder(postTo(t, s, PathCompletions, `{"model":"c","prompt":"once upon","logprobs":2}`).Body).Decode(&c)
	if !strings.HasPrefix(c.ID, "cmpl-") || c.Object != "text_completion" || c.SystemFingerprint == "" || len(c.Choices) != 1 ||
		c.Choices[0].Text != "after once upon" || *c.Choices[0].FinishReason != "stop" || c.Usage == nil || c.Usage.CompletionTokens != 3 ||
		!strings.Contains(string(c.Choices[0].Logprobs), `"tokens":["after"," once"," upon"]`) {
		t.Fatalf("completion = %+v, logprobs %s", c, c.Choices[0].Logprobs)
	}
	events := sseEvents(t, postTo(t, s, PathCompletions, `{"model":"c","prompt":"once upon","stream":true,"stream_options":{"include_usage":true}}`).Body)
	var text strings.Builder
	var finish string
	usage := false
	for _, e := range events[:len(events)-1] {
		var ch textCompletion
		if err := json.Unmarshal([]byte(e), &ch); err != nil || ch.Object != "text_completion" {
			t.Fatalf("chunk %s: %v", e, err)
		}
		if ch.Usage != nil {
			usage = true
			continue
		}
		text.WriteString(ch.Choices[0].Text)
		if ch.Choices[0].FinishReason != nil {
			finish = *ch.Choices[0].FinishReason
		}
	}
	if text.String() != "after once upon" || finish != "stop" || !usage || events[len(events)-1] != "[DONE]" {
		t.Fatalf("stream %q, finish %q, usage %v, events %v", text.String(), finish, usage, events)
	}
}

// Asked for logprobs, a chat answer has them for every token, streamed
// or not, with the top alternatives asked for; the fingerprint is there
// either way.
func TestChatLogprobs(t *testing.T) {
	s := New()
	defer s.Close()
	s.Script("m", Behaviour{Reply: "one two"})
	resp := mustPost(t, s.URL(), `{"model":"m","logprobs":true,"top_logprobs":2,"messages":[{"role":"user","content":"hi"}]}`)
	var c struct {
		SystemFingerprint string `json:"system_fingerprint"`
		Choices           []struct {
			Logprobs struct {
				Content []struct {
					Token       string
					TopLogprobs []struct{ Token string } `json:"top_logprobs"`
				}
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		t.Fatal(err)
	}
	lp := c.Choices[0].Logprobs.Content
	if c.SystemFingerprint != "fp_openaitest" || len(lp) != 2 || lp[1].Token != " two" || len(lp[1].TopLogprobs) != 2 {
		t.Fatalf("answer = %+v", c)
	}
	events := sseEvents(t, mustPost(t, s.URL(), `{"model":"m","stream":true,"logprobs":true,"messages":[{"role":"user","content":"hi"}]}`).Body)
	with := 0
	for _, e := range events {
		if strings.Contains(e, `"logprobs":{"content":[{"token":`) {
			with++
		}
	}
	if with != 2 {
		t.Fatalf("%d chunks carry logprobs, want 2: %v", with, events)
	}
}
