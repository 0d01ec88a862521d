package openaitest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

func post(t *testing.T, ctx context.Context, url, body string, header map[string]string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/chat/completions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return http.DefaultClient.Do(req)
}

func mustPost(t *testing.T, url, body string) *http.Response {
	t.Helper()
	resp, err := post(t, context.Background(), url, body, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// sseEvents reads a stream and returns the payloads of its data lines.
func sseEvents(t *testing.T, r io.Reader) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		payload, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("line %q is not a data line", line)
		}
		out = append(out, payload)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

type wireChunk struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []struct {
		Index        int `json:"index"`
		Delta        *struct{ Role, Content *string }
		Message      *struct{ Role, Content string }
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		Prompt     int `json:"prompt_tokens"`
		Completion int `json:"completion_tokens"`
		Total      int `json:"total_tokens"`
	} `json:"usage"`
}

func TestCompletionJSON(t *testing.T) {
	s := New()
	defer s.Close()
	s.Script("m1", Behaviour{Reply: "Bonjour le \"monde\"\n"})
	resp := mustPost(t, s.URL(), `{"model":"m1","messages":[{"role":"user","content":"Hello world"}]}`)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var c wireChunk
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		t.Fatal(err)
	}
	if c.Object != "chat.completion" || !strings.HasPrefix(c.ID, "chatcmpl-") || c.Model != "m1" || c.Created == 0 {
		t.Fatalf("head: %+v", c)
	}
	if len(c.Choices) != 1 || c.Choices[0].Message == nil || c.Choices[0].Message.Content != "Bonjour le \"monde\"\n" || c.Choices[0].Message.Role != "assistant" {
		t.Fatalf("choices: %+v", c.Choices)
	}
	if *c.Choices[0].FinishReason != "stop" {
		t.Fatalf("finish_reason %q", *c.Choices[0].FinishReason)
	}
	if c.Usage == nil || c.Usage.Prompt != task.EstimateTokens("Hello world") || c.Usage.Completion != 4 || c.Usage.Total != c.Usage.Prompt+4 {
		t.Fatalf("usage: %+v", c.Usage)
	}
}

func readStream(t *testing.T, s *Server, body string) (chunks []wireChunk, done bool) {
	t.Helper()
	resp := mustPost(t, s.URL(), body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events := sseEvents(t, resp.Body)
	for i, e := range events {
		if e == "[DONE]" {
			if i != len(events)-1 {
				t.Fatalf("[DONE] at %d of %d", i, len(events))
			}
			return chunks, true
		}
		var c wireChunk
		if err := json.Unmarshal([]byte(e), &c); err != nil {
			t.Fatalf("event %d %q: %v", i, e, err)
		}
		chunks = append(chunks, c)
	}
	return chunks, false
}

func TestStream(t *testing.T) {
	s := New()
	defer s.Close()
	s.Script("m1", Behaviour{Reply: "one two three"})
	for _, tc := range []struct {
		name      string
		body      string
		wantUsage bool
		want      string
		finish    string
	}{
		{"plain", `{"model":"m1","stream":true,"messages":[{"role":"user","content":"hi"}]}`, false, "one two three", "stop"},
		{"usage", `{"model":"m1","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`, true, "one two three", "stop"},
		{"max tokens", `{"model":"m1","stream":true,"max_tokens":2,"messages":[{"role":"user","content":"hi"}]}`, false, "one two", "length"},
		{"max completion tokens", `{"model":"m1","stream":true,"max_completion_tokens":1,"max_tokens":9,"messages":[]}`, false, "one", "length"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chunks, done := readStream(t, s, tc.body)
			if !done {
				t.Fatal("no [DONE]")
			}
			var text strings.Builder
			var finish string
			var usage bool
			for i, c := range chunks {
				if c.Object != "chat.completion.chunk" || c.ID != chunks[0].ID {
					t.Fatalf("chunk %d head %+v", i, c)
				}
				if c.Usage != nil {
					usage = true
					if len(c.Choices) != 0 || i != len(chunks)-1 || c.Usage.Completion != len(SplitTokens(tc.want)) {
						t.Fatalf("usage chunk %d: %+v", i, c)
					}
					continue
				}
				if i == 0 && (c.Choices[0].Delta.Role == nil || *c.Choices[0].Delta.Role != "assistant") {
					t.Fatalf("first chunk has no role: %+v", c)
				}
				if fr := c.Choices[0].FinishReason; fr != nil {
					finish = *fr
				}
				if d := c.Choices[0].Delta.Content; d != nil {
					text.WriteString(*d)
				}
			}
			if text.String() != tc.want || finish != tc.finish || usage != tc.wantUsage {
				t.Fatalf("text %q finish %q usage %v", text.String(), finish, usage)
			}
		})
	}
}

func TestFailures(t *testing.T) {
	s := New()
	defer s.Close()
	for _, tc := range []struct {
		fail       Failure
		status     int
		typ, code  string
		retryAfter string
	}{
		{FailRateLimit, 429, "requests", "rate_limit_exceeded", "2"},
		{FailServerError, 500, "server_error", "", "1"},
		{FailContextLength, 400, "invalid_request_error", "context_length_exceeded", ""},
		{FailBadRequest, 400, "invalid_request_error", "", ""},
		{FailUnauthorized, 401, "invalid_request_error", "invalid_api_key", ""},
		{FailForbidden, 403, "invalid_request_error", "permission_denied", ""},
	} {
		ra := map[string]time.Duration{"2": 1500 * time.Millisecond, "1": time.Second}[tc.retryAfter]
		s.Script("m", Behaviour{Reply: "ok", Fail: tc.fail, RetryAfter: ra})
		for _, stream := range []bool{false, true} {
			body := `{"model":"m","messages":[],"stream":` + map[bool]string{false: "false", true: "true"}[stream] + `}`
			resp := mustPost(t, s.URL(), body)
			var e struct {
				Error struct {
					Message string  `json:"message"`
					Type    string  `json:"type"`
					Param   *string `json:"param"`
					Code    *string `json:"code"`
				} `json:"error"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatal(err)
			}
			code := ""
			if e.Error.Code != nil {
				code = *e.Error.Code
			}
			if resp.StatusCode != tc.status || e.Error.Type != tc.typ || code != tc.code || e.Error.Message == "" || resp.Header.Get("Retry-After") != tc.retryAfter {
				t.Errorf("failure %d stream %v: status %d, %+v, Retry-After %q", tc.fail, stream, resp.StatusCode, e.Error, resp.Header.Get("Retry-After"))
			}
		}
	}
}

func TestFailFirst(t *testing.T) {
	s := New()
	defer s.Close()
	s.Script("m", Behaviour{Reply: "ok", Fail: FailServerError, FailFirst: 2})
	var got []int
	for range 4 {
		got = append(got, mustPost(t, s.URL(), `{"model":"m","messages":[]}`).StatusCode)
	}
	if want := []int{500, 500, 200, 200}; !equalInts(got, want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	if s.Calls("m") != 4 || s.TotalCalls() != 4 {
		t.Fatalf("calls %d total %d", s.Calls("m"), s.TotalCalls())
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestReset(t *testing.T) {
	s := New()
	defer s.Close()
	for _, before := range []int{0, 2} {
		s.Script("m", Behaviour{Reply: "a b c d", Fail: FailReset, ChunksBeforeFailure: before})
		resp, err := post(t, context.Background(), s.URL(), `{"model":"m","stream":true,"messages":[]}`, nil)
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if err == nil {
			t.Fatalf("before %d: a reset stream read without error", before)
		}
	}
	resp, err := post(t, context.Background(), s.URL(), `{"model":"m","messages":[]}`, nil)
	if err == nil {
		resp.Body.Close()
		t.Fatal("a reset non-streaming request got a response")
	}
}

func TestMalformed(t *testing.T) {
	s := New()
	defer s.Close()
	s.Script("m", Behaviour{Reply: "a b c", Fail: FailMalformed, ChunksBeforeFailure: 1})
	var v any
	if err := json.NewDecoder(mustPost(t, s.URL(), `{"model":"m","messages":[]}`).Body).Decode(&v); err == nil {
		t.Fatal("malformed answer parsed")
	}
	events := sseEvents(t, mustPost(t, s.URL(), `{"model":"m","stream":true,"messages":[]}`).Body)
	if len(events) != 3 {
		t.Fatalf("events %q", events)
	}
	if err := json.Unmarshal([]byte(events[1]), &v); err != nil {
		t.Fatalf("content chunk: %v", err)
	}
	if err := json.Unmarshal([]byte(events[2]), &v); err == nil {
		t.Fatal("malformed chunk parsed")
	}
}

func TestStallEndsWithClientAndClose(t *testing.T) {
	s := New()
	s.Script("m", Behaviour{Reply: "a b c", Fail: FailStall, ChunksBeforeFailure: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	resp, err := post(t, ctx, s.URL(), `{"model":"m","stream":true,"messages":[]}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "data: ") {
		t.Fatalf("first line %q, %v", line, err)
	}
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("reading a stalled stream: %v", err)
	}
	resp.Body.Close()

	// A stall still open when the server closes must not keep Close waiting.
	go func() {
		r, err := post(t, context.Background(), s.URL(), `{"model":"m","stream":true,"messages":[]}`, nil)
		if err == nil {
			_, _ = io.ReadAll(r.Body)
			r.Body.Close()
		}
	}()
	for s.Calls("m") < 2 {
		time.Sleep(time.Millisecond)
	}
	s.Close()
	s.Close()
}

func TestLatencyAndTokenDelay(t *testing.T) {
	s := New()
	defer s.Close()
	s.Script("m", Behaviour{Reply: "a b c", Latency: 30 * time.Millisecond, TokenDelay: 10 * time.Millisecond})
	start := time.Now()
	chunks, done := readStream(t, s, `{"model":"m","stream":true,"messages":[]}`)
	if el := time.Since(start); el < 50*time.Millisecond || !done || len(chunks) != 5 {
		t.Fatalf("elapsed %v, done %v, %d chunks", el, done, len(chunks))
	}
}

func TestAuthAndRecords(t *testing.T) {
	s := New(WithAPIKey("sk-right"))
	defer s.Close()
	s.Script("m", Behaviour{ReplyFunc: func(msgs []task.Message) string { return "echo: " + msgs[len(msgs)-1].Content }})
	body := `{"model":"m","max_tokens":50,"messages":[{"role":"system","content":null},{"role":"user","content":[{"type":"text","text":"hi "},{"type":"image_url"},{"type":"text","text":"there"}]}]}`
	resp, err := post(t, context.Background(), s.URL(), body, map[string]string{"Authorization": "Bearer sk-wrong"})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || s.Calls("m") != 0 {
		t.Fatalf("wrong key: status %d, calls %d", resp.StatusCode, s.Calls("m"))
	}
	resp, err = post(t, context.Background(), s.URL(), body, map[string]string{"Authorization": "Bearer sk-right", "X-Title": "taskrouter"})
	if err != nil {
		t.Fatal(err)
	}
	var c wireChunk
	_ = json.NewDecoder(resp.Body).Decode(&c)
	resp.Body.Close()
	if resp.StatusCode != 200 || c.Choices[0].Message.Content != "echo: hi there" {
		t.Fatalf("status %d, %+v", resp.StatusCode, c)
	}
	rec, ok := s.Last("m")
	if !ok || rec.Authorization != "Bearer sk-right" || rec.Header.Get("X-Title") != "taskrouter" || rec.MaxTokens != 50 || string(rec.Body) != body || len(rec.Messages) != 2 || rec.Messages[1].Content != "hi there" {
		t.Fatalf("record %+v", rec)
	}
}

func TestUnknownModelAndDefault(t *testing.T) {
	s := New()
	defer s.Close()
	if st := mustPost(t, s.URL(), `{"model":"nope","messages":[]}`).StatusCode; st != 404 {
		t.Fatalf("unknown model: status %d", st)
	}
	if st := mustPost(t, s.URL(), `{"model":`).StatusCode; st != 400 {
		t.Fatalf("bad JSON: status %d", st)
	}
	d := New(WithDefault(Behaviour{Reply: "x"}))
	defer d.Close()
	if st := mustPost(t, d.URL(), `{"model":"anything","messages":[]}`).StatusCode; st != 200 {
		t.Fatalf("default: status %d", st)
	}
}

func TestModels(t *testing.T) {
	s := New()
	defer s.Close()
	s.Script("b", Behaviour{})
	s.Script("a", Behaviour{})
	resp, err := http.Get(s.URL() + "/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Object string
		Data   []struct{ ID, Object string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	if list.Object != "list" || len(list.Data) != 2 || list.Data[0].ID != "a" || list.Data[1].Object != "model" {
		t.Fatalf("%+v", list)
	}
}

func TestSplitTokens(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"one", []string{"one"}},
		{"Hello big world", []string{"Hello", " big", " world"}},
		{"  lead  and\ntrail ", []string{"  lead", "  and", "\ntrail", " "}},
	} {
		got := SplitTokens(tc.in)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
			t.Errorf("SplitTokens(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "quote\" back\\ nl\n tab\t", "\x00\x1f", "\u2028\u2029", "\xff\xfe bad", "中文 émoji 🎉"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var got string
		enc := appendString(nil, s)
		if err := json.Unmarshal(enc, &got); err != nil {
			t.Fatalf("%q encodes to invalid JSON %q: %v", s, enc, err)
		}
		want, _ := json.Marshal(s)
		var wantS string
		_ = json.Unmarshal(want, &wantS)
		if got != wantS {
			t.Fatalf("%q round-trips to %q, encoding/json gives %q", s, got, wantS)
		}
		if strings.Join(SplitTokens(s), "") != s {
			t.Fatalf("SplitTokens(%q) does not concatenate back", s)
		}
	})
}
