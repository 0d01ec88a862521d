package openai

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/localmodel"
	"github.com/taskrouter/taskrouter/task"
)

// The executors serve this backend through localmodel's Model interface.
var _ localmodel.Model = (*Model)(nil)

const testKey = "sk-test-9f8e7d6c5b4a39281706"

func testSpec(s *openaitest.Server, name string) task.ModelSpec {
	return task.ModelSpec{
		Name:            name,
		Backend:         task.BackendOpenAI,
		BaseURL:         s.URL(),
		APIKeyEnv:       "TEST_OPENAI_KEY",
		Capabilities:    []string{"chat", "translate"},
		MaxOutputTokens: 256,
		Price:           task.Price{InputPerMTok: 2, OutputPerMTok: 8},
	}
}

func newModel(t testing.TB, spec task.ModelSpec, key string, opts ...Option) *Model {
	t.Helper()
	m, err := New(spec, key, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func asTaskError(t *testing.T, err error) *task.Error {
	t.Helper()
	var e *task.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *task.Error", err, err)
	}
	return e
}

func TestGeneratePlain(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	s.Script("fr-model", openaitest.Behaviour{Reply: "Bonjour le monde"})
	spec := testSpec(s, "fr-model")
	spec.Headers = map[string]string{"X-Title": "taskrouter"}
	m := newModel(t, spec, testKey, WithHeaders(map[string]string{"HTTP-Referer": "https://example.test"}))
	w := task.Work{
		Capability: "translate",
		Input:      "Hello world",
		Args:       map[string]string{"target_lang": "fr"},
		Context:    []task.Message{{Role: "user", Content: "earlier"}, {Role: "assistant", Content: "reply"}},
	}
	out, err := m.Generate(context.Background(), w, stream)
	if err != nil {
		t.Fatal(err)
	}
	if out.Text != "Bonjour le monde" || out.Format != "text" {
		t.Fatalf("output %+v", out)
	}
	rec, ok := s.Last("fr-model")
	if !ok {
		t.Fatal("no request recorded")
	}
	if rec.Authorization != "Bearer "+testKey {
		t.Errorf("Authorization %q", rec.Authorization)
	}
	if rec.Header.Get("X-Title") != "taskrouter" || rec.Header.Get("Http-Referer") != "https://example.test" {
		t.Errorf("extra headers missing: %v", rec.Header)
	}
	if !rec.Stream || !rec.IncludeUsage || rec.MaxTokens != 256 || rec.Model != "fr-model" {
		t.Errorf("record %+v", rec)
	}
	want := []task.Message{
		{Role: "system", Content: "Translate the user's text into French. Reply with the translation only."},
		{Role: "user", Content: "earlier"}, {Role: "assistant", Content: "reply"},
		{Role: "user", Content: "Hello world"},
	}
	if fmt.Sprint(rec.Messages) != fmt.Sprint(want) {
		t.Errorf("messages %q, want %q", rec.Messages, want)
	}
}

func TestStreamingDeltas(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	const reply = "one two three four five"
	s.Script("m", openaitest.Behaviour{Reply: reply, TokenDelay: 20 * time.Millisecond})
	m := newModel(t, testSpec(s, "m"), testKey)
	var deltas []string
	var first time.Time
	out, err := m.Generate(context.Background(), task.Work{Capability: "chat", Input: "count"}, func(d string) {
		if first.IsZero() {
			first = time.Now()
		}
		deltas = append(deltas, d)
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := openaitest.SplitTokens(reply); fmt.Sprintf("%q", deltas) != fmt.Sprintf("%q", want) {
		t.Fatalf("deltas %q, want %q", deltas, want)
	}
	if strings.Join(deltas, "") != out.Text || out.Text != reply {
		t.Fatalf("text %q", out.Text)
	}
	// The server waits 20ms between chunks, so the first delta must have
	// reached progress at least 4 waits before Generate returned.
	if since := time.Since(first); since < 80*time.Millisecond {
		t.Fatalf("the first delta arrived only %v before the end: not streamed", since)
	}
}

func TestUsageAndCost(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	s.Script("counted", openaitest.Behaviour{Reply: "a b c"})
	s.Script("billed", openaitest.Behaviour{Reply: "a b c", Usage: &openaitest.Usage{PromptTokens: 1000, CompletionTokens: 500}})
	s.Script("silent", openaitest.Behaviour{Reply: "abcdefgh", NoUsage: true})
	w := task.Work{Capability: "chat", Input: "12345678"}
	sys := task.EstimateTokens(SystemMessage("chat", nil)) + task.EstimateTokens(w.Input)
	for _, tc := range []struct {
		model              string
		prompt, completion int
	}{
		{"counted", sys, 3},
		{"billed", 1000, 500},
		{"silent", sys, 2}, // estimated by task.EstimateTokens
	} {
		out, err := newModel(t, testSpec(s, tc.model), testKey).Generate(context.Background(), w, stream)
		if err != nil {
			t.Fatal(err)
		}
		wantCost := (float64(tc.prompt)*2 + float64(tc.completion)*8) / 1e6
		if out.Usage.PromptTokens != tc.prompt || out.Usage.CompletionTokens != tc.completion || out.Usage.CostUSD != wantCost {
			t.Errorf("%s: usage %+v, want %d/%d $%g", tc.model, out.Usage, tc.prompt, tc.completion, wantCost)
		}
	}
}

func TestUpstreamModelAndTokenLimitField(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	for _, tc := range []struct {
		upstream, field string
	}{
		{"llama3.1:8b", `"max_tokens":256`},
		{"gpt-5-mini", `"max_completion_tokens":256`},
		{"o3", `"max_completion_tokens":256`},
	} {
		s.Script(tc.upstream, openaitest.Behaviour{Reply: "ok"})
		spec := testSpec(s, "local-name")
		spec.UpstreamModel = tc.upstream
		if _, err := newModel(t, spec, testKey).Generate(context.Background(), task.Work{Capability: "chat", Input: "hi"}, stream); err != nil {
			t.Fatalf("%s: %v", tc.upstream, err)
		}
		rec, _ := s.Last(tc.upstream)
		if !strings.Contains(string(rec.Body), tc.field) {
			t.Errorf("%s: body %s lacks %s", tc.upstream, rec.Body, tc.field)
		}
	}
}

func TestErrorClasses(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	for _, tc := range []struct {
		name         string
		b            openaitest.Behaviour
		code         task.Code
		retryable    bool
		retryAfterMs int64
	}{
		{"rate limit", openaitest.Behaviour{Fail: openaitest.FailRateLimit, RetryAfter: 2 * time.Second}, task.CodeRateLimited, true, 2000},
		{"rate limit without wait", openaitest.Behaviour{Fail: openaitest.FailRateLimit}, task.CodeRateLimited, true, 0},
		{"server error", openaitest.Behaviour{Fail: openaitest.FailServerError, RetryAfter: time.Second}, task.CodeUpstream, true, 1000},
		{"reset", openaitest.Behaviour{Fail: openaitest.FailReset}, task.CodeUpstream, true, 0},
		{"reset mid-stream", openaitest.Behaviour{Fail: openaitest.FailReset, ChunksBeforeFailure: 2}, task.CodeUpstream, true, 0},
		{"malformed", openaitest.Behaviour{Fail: openaitest.FailMalformed}, task.CodeUpstream, true, 0},
		{"malformed mid-stream", openaitest.Behaviour{Fail: openaitest.FailMalformed, ChunksBeforeFailure: 2}, task.CodeUpstream, true, 0},
		{"context length", openaitest.Behaviour{Fail: openaitest.FailContextLength}, task.CodeContextLength, false, 0},
		{"bad request", openaitest.Behaviour{Fail: openaitest.FailBadRequest}, task.CodeBadInput, false, 0},
		{"unauthorized", openaitest.Behaviour{Fail: openaitest.FailUnauthorized}, task.CodeAuth, false, 0},
		{"forbidden", openaitest.Behaviour{Fail: openaitest.FailForbidden}, task.CodeAuth, false, 0},
		{"content filter", openaitest.Behaviour{Reply: "x", FinishReason: "content_filter"}, task.CodeBadInput, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := strings.ReplaceAll(tc.name, " ", "-")
			if tc.b.Reply == "" {
				tc.b.Reply = "never seen in full"
			}
			s.Script(name, tc.b)
			_, err := newModel(t, testSpec(s, name), testKey).Generate(context.Background(), task.Work{Capability: "chat", Input: "hi"}, stream)
			checkError(t, err, tc.code, tc.retryable, tc.retryAfterMs)
		})
	}
}

func checkError(t *testing.T, err error, code task.Code, retryable bool, retryAfterMs int64) {
	t.Helper()
	e := asTaskError(t, err)
	if e.Code != code || e.Retryable != retryable || e.RetryAfterMs != retryAfterMs {
		t.Fatalf("got %s retryable=%v retry_after_ms=%d (%v), want %s retryable=%v retry_after_ms=%d", e.Code, e.Retryable, e.RetryAfterMs, e, code, retryable, retryAfterMs)
	}
	if strings.Contains(e.Error(), testKey) {
		t.Fatalf("the key leaked into %q", e.Error())
	}
}

func TestNotFoundAndUnreachable(t *testing.T) {
	s := openaitest.New()
	m := newModel(t, testSpec(s, "unscripted"), testKey)
	_, err := m.Generate(context.Background(), task.Work{Capability: "chat", Input: "hi"}, stream)
	checkError(t, err, task.CodeNotFound, false, 0)
	s.Close()
	_, err = m.Generate(context.Background(), task.Work{Capability: "chat", Input: "hi"}, stream)
	checkError(t, err, task.CodeUpstream, true, 0)
}

func TestKeyNeverLeaks(t *testing.T) {
	s := openaitest.New(openaitest.WithAPIKey("sk-the-right-one"))
	defer s.Close()
	s.Script("m", openaitest.Behaviour{Reply: "ok"})
	m := newModel(t, testSpec(s, "m"), testKey)
	_, err := m.Generate(context.Background(), task.Work{Capability: "chat", Input: "hi"}, stream)
	checkError(t, err, task.CodeAuth, false, 0)
	// The server echoed the key in its message; the error must say where the
	// key lives, not what it is.
	if !strings.Contains(err.Error(), "$TEST_OPENAI_KEY") || !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("error %q does not name the variable or show the redaction", err)
	}
	if printed := fmt.Sprintf("%v %+v %#v %s", m, m, m, m); strings.Contains(printed, testKey) {
		t.Fatalf("printing the model shows the key: %s", printed)
	}
	if _, err := New(task.ModelSpec{Name: "m", BaseURL: s.URL(), Headers: map[string]string{"authorization": "Bearer " + testKey}}, testKey); err == nil || strings.Contains(err.Error(), testKey) {
		t.Fatalf("an Authorization header in the spec: %v", err)
	}
}

func TestCancelMidStream(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	s.Script("slow", openaitest.Behaviour{Reply: "a b c d e f", TokenDelay: time.Hour})
	m := newModel(t, testSpec(s, "slow"), testKey)
	ctx, cancel := context.WithCancel(context.Background())
	var got []string
	_, err := m.Generate(ctx, task.Work{Capability: "chat", Input: "hi"}, func(d string) {
		got = append(got, d)
		cancel()
	})
	checkError(t, err, task.CodeCancelled, false, 0)
	if len(got) != 1 {
		t.Fatalf("deltas before the cancel: %q", got)
	}
}

func TestDeadline(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	s.Script("stall", openaitest.Behaviour{Reply: "a b c", Fail: openaitest.FailStall, ChunksBeforeFailure: 1})
	s.Script("late", openaitest.Behaviour{Reply: "a", Latency: time.Hour})
	for _, model := range []string{"stall", "late"} {
		m := newModel(t, testSpec(s, model), testKey)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		_, err := m.Generate(ctx, task.Work{Capability: "chat", Input: "hi"}, stream)
		cancel()
		checkError(t, err, task.CodeTimeout, false, 0)
		// The work's own deadline binds even when the context has none.
		_, err = m.Generate(context.Background(), task.Work{Capability: "chat", Input: "hi", Deadline: time.Now().Add(100 * time.Millisecond)}, stream)
		checkError(t, err, task.CodeTimeout, false, 0)
	}
}

func TestIdleStall(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	s.Script("stall", openaitest.Behaviour{Reply: "a b c", Fail: openaitest.FailStall, ChunksBeforeFailure: 2})
	m := newModel(t, testSpec(s, "stall"), testKey, WithIdleTimeout(100*time.Millisecond))
	_, err := m.Generate(context.Background(), task.Work{Capability: "chat", Input: "hi"}, stream)
	checkError(t, err, task.CodeUpstream, true, 0)
}

func TestFailFirstThenSucceed(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	s.Script("m", openaitest.Behaviour{Reply: "fine", Fail: openaitest.FailRateLimit, FailFirst: 1, RetryAfter: time.Second})
	m := newModel(t, testSpec(s, "m"), testKey)
	w := task.Work{Capability: "chat", Input: "hi"}
	_, err := m.Generate(context.Background(), w, stream)
	checkError(t, err, task.CodeRateLimited, true, 1000)
	out, err := m.Generate(context.Background(), w, stream)
	if err != nil || out.Text != "fine" {
		t.Fatalf("second call: %q, %v", out.Text, err)
	}
}

func TestConcurrentCalls(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	s.Script("echo", openaitest.Behaviour{ReplyFunc: func(msgs []task.Message) string { return "re: " + msgs[len(msgs)-1].Content }})
	s.Script("limited", openaitest.Behaviour{Fail: openaitest.FailRateLimit, RetryAfter: 3 * time.Second})
	echo := newModel(t, testSpec(s, "echo"), testKey)
	limited := newModel(t, testSpec(s, "limited"), testKey)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 20 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			in := fmt.Sprint("input ", i)
			out, err := echo.Generate(context.Background(), task.Work{Capability: "chat", Input: in}, stream)
			if err != nil || out.Text != "re: "+in {
				errs <- fmt.Errorf("echo %d: %q, %v", i, out.Text, err)
			}
		}()
		go func() {
			defer wg.Done()
			_, err := limited.Generate(context.Background(), task.Work{Capability: "chat", Input: "x"}, stream)
			if e := task.AsError(err); e == nil || e.RetryAfterMs != 3000 {
				errs <- fmt.Errorf("limited %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestNewRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec task.ModelSpec
		opts []Option
	}{
		{"no name", task.ModelSpec{BaseURL: "http://127.0.0.1:1/v1"}, nil},
		{"local backend", task.ModelSpec{Name: "m", Backend: task.BackendLocal, BaseURL: "http://127.0.0.1:1/v1"}, nil},
		{"no base url", task.ModelSpec{Name: "m"}, nil},
		{"not http", task.ModelSpec{Name: "m", BaseURL: "ftp://host/v1"}, nil},
		{"negative timeout", task.ModelSpec{Name: "m", BaseURL: "http://h/v1"}, []Option{WithTimeout(-1)}},
		{"zero idle", task.ModelSpec{Name: "m", BaseURL: "http://h/v1"}, []Option{WithIdleTimeout(0)}},
		{"nil client", task.ModelSpec{Name: "m", BaseURL: "http://h/v1"}, []Option{WithHTTPClient(nil)}},
	} {
		if _, err := New(tc.spec, "k", tc.opts...); err == nil {
			t.Errorf("%s: New accepted it", tc.name)
		}
	}
}

// stream is a progress func that makes Generate stream, as an executor
// does when someone follows the subtask.
func stream(string) {}

// With nobody following the text, Generate asks for the answer in one
// piece; the answer, usage and error classes are the same.
func TestGenerateWithoutStreaming(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	s.Script("m", openaitest.Behaviour{Reply: "Bonjour le monde", Usage: &openaitest.Usage{PromptTokens: 12, CompletionTokens: 4}})
	s.Script("limited", openaitest.Behaviour{Fail: openaitest.FailRateLimit, RetryAfter: 3 * time.Second})
	spec := testSpec(s, "m")
	spec.Price = task.Price{InputPerMTok: 1, OutputPerMTok: 2}
	out, err := newModel(t, spec, testKey).Generate(context.Background(), task.Work{Capability: "chat", Input: "hi"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if last, _ := s.Last("m"); last.Stream || out.Text != "Bonjour le monde" || out.Usage.PromptTokens != 12 || out.Usage.CompletionTokens != 4 {
		t.Fatalf("stream %v, output %+v", last.Stream, out)
	}
	if want := (12*1 + 4*2) / 1e6; out.Usage.CostUSD != want {
		t.Fatalf("cost %v, want %v", out.Usage.CostUSD, want)
	}
	_, err = newModel(t, testSpec(s, "limited"), testKey).Generate(context.Background(), task.Work{Capability: "chat", Input: "hi"}, nil)
	if e := task.AsError(err); e.Code != task.CodeRateLimited || !e.Retryable || e.RetryAfterMs < 3000 {
		t.Fatalf("error %+v, want rate_limited retryable after 3s", e)
	}
}
