package openai

import (
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

func TestCollector(t *testing.T) {
	var col collector
	for _, tc := range []struct {
		raw, delta string
		err        bool
	}{
		{`{"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"usage":null}`, "", false},
		{`{"choices":[{"index":0,"delta":{"content":"Bon\"jour"},"finish_reason":null}]}`, "Bon\"jour", false},
		{`{"choices":[{"delta":{"content":" \u4e16"}}]}`, " 世", false},
		{`{"choices":[{"index":1,"delta":{"content":"other"}}]}`, "", false},
		{`{"choices":[{"index":0,"delta":{"content":`, "", true},
		{`{"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}`, "", false},
		{`{"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}`, "", false},
	} {
		delta, err := col.add([]byte(tc.raw))
		if delta != tc.delta || (err != nil) != tc.err {
			t.Errorf("add(%s) = %q, %v", tc.raw, delta, err)
		}
	}
	if col.text.String() != "Bon\"jour 世" || col.finish != "length" || !col.ended || col.usage != (task.Usage{PromptTokens: 7, CompletionTokens: 3}) {
		t.Fatalf("collected %q finish %q usage %+v", col.text.String(), col.finish, col.usage)
	}
}

func FuzzCollector(f *testing.F) {
	for _, s := range []string{
		`{"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}],"usage":null}`,
		`{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}`,
		`{"choices":[{"index":"0","delta":"x","finish_reason":7}]}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","type":"function","function":{"name":"f","arguments":"{"}}]}}]}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"id":"c","function":{"arguments":{"x":1}}},{"index":"1"},null]}}]}`,
		`[1,2]`, `null`, `{"choices":{"a":1}}`, `{"choices":[{"delta":{"content":"\ud800"}}]}`,
		`{"id":"cmpl-1","object":"text_completion","choices":[{"text":" once","index":0,"logprobs":null,"finish_reason":null}]}`,
		`{"choices":[{"text":5,"index":0}]}`,
		strings.Repeat("[", 200), `{"choices":[{"index":0,"delta":{"content":` + strings.Repeat(`{"a":`, 130) + `1` + strings.Repeat("}", 130) + `}}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var col collector
		if _, err := col.add([]byte(`{"choices":[{"index":0,"delta":{"content":"start "}}]}`)); err != nil {
			t.Fatal(err)
		}
		before := col.text.String()
		delta, err := col.add(raw)
		if err != nil && delta != "" {
			t.Fatalf("an error with text %q", delta)
		}
		if col.text.String() != before+delta {
			t.Fatalf("text %q is not the previous text plus %q", col.text.String(), delta)
		}
		if col.usage.PromptTokens != 0 || col.usage.CompletionTokens != 0 {
			if !col.ended {
				t.Fatal("usage without the stream counting as ended")
			}
		}
	})
}

// TestCollectorKeepsNoPartOfTheLine reads chunks, as a stream does, from
// one line buffer that the next line overwrites: what the collector keeps
// of a chunk must not change with it.
func TestCollectorKeepsNoPartOfTheLine(t *testing.T) {
	var col collector
	line := make([]byte, 0, 512)
	for _, chunk := range []string{
		`{"choices":[{"index":0,"delta":{"content":"Hi","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"lookup","arguments":"{\"q\":"}}]}}]}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]},"finish_reason":"tool_calls"}]}`,
		`{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}`,
	} {
		line = append(line[:0], chunk...)
		if _, err := col.add(line); err != nil {
			t.Fatal(err)
		}
	}
	line = line[:cap(line)]
	for i := range line {
		line[i] = 'x'
	}
	calls := col.toolCalls()
	if col.text.String() != "Hi" || col.finish != "tool_calls" || len(calls) != 1 || calls[0].ID != "call_1" ||
		calls[0].Type != "function" || calls[0].Function.Name != "lookup" || calls[0].Function.Arguments != `{"q":1}` {
		t.Fatalf("collected %q, finish %q, calls %+v", col.text.String(), col.finish, calls)
	}
}
