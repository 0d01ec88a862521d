package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/task"
)

// weatherSchema has keywords go-openai's jsonschema.Definition lacks
// ($defs, title) and keys out of alphabetical order, so only a schema
// sent verbatim arrives as it is.
const weatherSchema = `{"type": "object", "title": "Weather",
	"properties": {"city": {"type": "string"}, "unit": {"$ref": "#/$defs/unit"}},
	"required": ["city", "unit"], "additionalProperties": false,
	"$defs": {"unit": {"enum": ["celsius", "fahrenheit"]}}}`

var weatherTools = json.RawMessage(`[
	{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city", "strict": true, "parameters": ` + weatherSchema + `}},
	{"type": "function", "function": {"name": "get_time"}}]`)

// toolsSent is weatherTools as they must reach the upstream: the same
// functions, get_time with the empty parameter list OpenAI defaults to.
var toolsSent = `[
	{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city", "strict": true, "parameters": ` + weatherSchema + `}},
	{"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}]`

func decodeCalls(t *testing.T, raw json.RawMessage) []call {
	t.Helper()
	var calls []call
	if err := json.Unmarshal(raw, &calls); err != nil {
		t.Fatalf("tool calls %s: %v", raw, err)
	}
	return calls
}

func sameJSON(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s %s: %v", what, got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s\n%s\nwant\n%s", what, got, want)
	}
}

// weatherModel scripts an upstream that calls both functions until it has
// their results, then answers from them.
func weatherModel(s *openaitest.Server) {
	answered := func(msgs []task.Message) bool { return len(msgs) > 0 && msgs[len(msgs)-1].Role == "tool" }
	s.Script("m", openaitest.Behaviour{
		ReplyFunc: func(msgs []task.Message) string {
			if !answered(msgs) {
				return ""
			}
			return "It is " + msgs[len(msgs)-2].Content + " in Paris at " + msgs[len(msgs)-1].Content + "."
		},
		ToolCallsFunc: func(msgs []task.Message) []openaitest.ToolCall {
			if answered(msgs) {
				return nil
			}
			return []openaitest.ToolCall{
				{Name: "get_weather", Arguments: `{"city":"Paris","unit":"celsius","note":"Zürich \"nearby\""}`},
				{ID: "call_fixed", Name: "get_time", Arguments: `{}`},
			}
		},
	})
}

func TestFunctionCallingExchange(t *testing.T) {
	for _, tc := range []struct {
		name     string
		streamed bool
	}{{"unstreamed", false}, {"streamed", true}} {
		t.Run(tc.name, func(t *testing.T) {
			s := openaitest.New()
			defer s.Close()
			weatherModel(s)
			m := newModel(t, testSpec(s, "m"), testKey)
			var deltas []string
			var progress func(string)
			if tc.streamed {
				progress = func(d string) { deltas = append(deltas, d) }
			}
			parallel := false
			w := task.Work{Capability: "chat", Input: "Weather and time in Paris?",
				Context: []task.Message{{Role: "user", Content: "hi"}, {Role: "assistant", Content: "Hello!"}},
				Tools:   &task.Tools{Functions: weatherTools, Choice: json.RawMessage(`"required"`), Parallel: &parallel}}

			// Turn 1: the model calls the functions instead of answering.
			out, err := m.Generate(context.Background(), w, progress)
			if err != nil {
				t.Fatal(err)
			}
			rec, _ := s.Last("m")
			if rec.Stream != tc.streamed {
				t.Fatalf("stream %v", rec.Stream)
			}
			sameJSON(t, "tools sent", rec.Tools, toolsSent)
			var compact bytes.Buffer
			_ = json.Compact(&compact, []byte(weatherSchema))
			if got := gjson.GetBytes(rec.Body, "tools.0.function.parameters").Raw; got != compact.String() {
				t.Fatalf("schema not sent verbatim:\n%s\nwant\n%s", got, compact.String())
			}
			if string(rec.ToolChoice) != `"required"` || rec.ParallelToolCalls == nil || *rec.ParallelToolCalls {
				t.Fatalf("tool_choice %s, parallel_tool_calls %v", rec.ToolChoice, rec.ParallelToolCalls)
			}
			if out.Text != "" || out.FinishReason != "tool_calls" || len(deltas) != 0 {
				t.Fatalf("output %+v, deltas %q", out, deltas)
			}
			calls := decodeCalls(t, out.ToolCalls)
			if len(calls) != 2 || !strings.HasPrefix(calls[0].ID, "call_") || len(calls[0].ID) < 10 || calls[1].ID != "call_fixed" {
				t.Fatalf("calls %s", out.ToolCalls)
			}
			for i, want := range [][2]string{{"get_weather", `{"city":"Paris","unit":"celsius","note":"Zürich \"nearby\""}`}, {"get_time", "{}"}} {
				if c := calls[i]; c.Type != "function" || c.Function.Name != want[0] || c.Function.Arguments != want[1] {
					t.Fatalf("call %d: %+v, want %s(%s)", i, c, want[0], want[1])
				}
			}
			if out.Usage.CompletionTokens == 0 || out.Usage.CostUSD == 0 {
				t.Fatalf("usage %+v", out.Usage)
			}

			// Turn 2: the calls and their results follow the input, and
			// the model answers in text.
			w.After = []task.Message{
				{Role: "assistant", ToolCalls: out.ToolCalls},
				{Role: "tool", ToolCallID: calls[0].ID, Content: "18°C"},
				{Role: "tool", ToolCallID: calls[1].ID, Content: "14:05"},
			}
			out2, err := m.Generate(context.Background(), w, progress)
			if err != nil {
				t.Fatal(err)
			}
			const answer = "It is 18°C in Paris at 14:05."
			if out2.Text != answer || out2.FinishReason != "stop" || out2.ToolCalls != nil {
				t.Fatalf("output %+v", out2)
			}
			if tc.streamed && strings.Join(deltas, "") != answer {
				t.Fatalf("deltas %q", deltas)
			}
			rec, _ = s.Last("m")
			var roles []string
			for _, msg := range rec.Messages {
				roles = append(roles, msg.Role)
			}
			if got := strings.Join(roles, ","); got != "system,user,assistant,user,assistant,tool,tool" {
				t.Fatalf("roles %s", got)
			}
			if rec.Messages[3].Content != w.Input || rec.Messages[5].ToolCallID != calls[0].ID || rec.Messages[5].Content != "18°C" ||
				rec.Messages[6].ToolCallID != "call_fixed" || rec.Messages[6].Content != "14:05" {
				t.Fatalf("messages %+v", rec.Messages)
			}
			sameJSON(t, "the assistant's tool calls", rec.Messages[4].ToolCalls, string(out.ToolCalls))
			if c := gjson.GetBytes(rec.Body, "messages.4.content"); c.Exists() && c.Type != gjson.Null {
				t.Fatalf("the assistant's tool call message has content %s; OpenAI wants null or none", c.Raw)
			}
		})
	}
}

// A named tool_choice goes out as OpenAI's object; text and tool calls
// in one streamed answer both arrive.
func TestNamedToolChoiceAndTextWithCalls(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	s.Script("m", openaitest.Behaviour{Reply: "Let me check.", ToolCalls: []openaitest.ToolCall{{Name: "get_weather", Arguments: `{"city":"Oslo","unit":"celsius"}`}}})
	m := newModel(t, testSpec(s, "m"), testKey)
	choice := `{"type":"function","function":{"name":"get_weather"}}`
	var text strings.Builder
	out, err := m.Generate(context.Background(), task.Work{Capability: "chat", Input: "Oslo?",
		Tools: &task.Tools{Functions: weatherTools, Choice: json.RawMessage(choice)}}, func(d string) { text.WriteString(d) })
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := s.Last("m")
	sameJSON(t, "tool_choice", rec.ToolChoice, choice)
	if rec.ParallelToolCalls != nil {
		t.Fatalf("parallel_tool_calls sent unasked: %v", *rec.ParallelToolCalls)
	}
	calls := decodeCalls(t, out.ToolCalls)
	if out.Text != "Let me check." || text.String() != out.Text || out.FinishReason != "tool_calls" ||
		len(calls) != 1 || calls[0].Function.Arguments != `{"city":"Oslo","unit":"celsius"}` {
		t.Fatalf("output %+v", out)
	}
}

// Work without tools builds the request it built before tools existed.
func TestPlainWorkRequestUnchanged(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	s.Script("m", openaitest.Behaviour{Reply: "Bonjour"})
	m := newModel(t, testSpec(s, "m"), testKey)
	w := task.Work{Capability: "translate", Input: "Hello", Args: map[string]string{"target_lang": "fr"},
		Context: []task.Message{{Role: "user", Content: "earlier"}, {Role: "assistant", Content: "reply"}}}
	for _, progress := range []func(string){stream, nil} {
		out, err := m.Generate(context.Background(), w, progress)
		if err != nil {
			t.Fatal(err)
		}
		if out.Text != "Bonjour" || out.FinishReason != "stop" || out.ToolCalls != nil {
			t.Fatalf("output %+v", out)
		}
		rec, _ := s.Last("m")
		want := `{"model":"m","messages":[` +
			`{"role":"system","content":"Translate the user's text into French. Reply with the translation only."},` +
			`{"role":"user","content":"earlier"},{"role":"assistant","content":"reply"},{"role":"user","content":"Hello"}],` +
			`"max_tokens":256`
		if progress != nil {
			want += `,"stream":true,"stream_options":{"include_usage":true}`
		} else {
			want += `,"stream":false`
		}
		if got := string(rec.Body); got != want+"}" {
			t.Fatalf("request\n%s\nwant\n%s}", got, want)
		}
	}
}

func TestFinishReasonLength(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	s.Script("m", openaitest.Behaviour{Reply: "one two three four"})
	spec := testSpec(s, "m")
	spec.MaxOutputTokens = 2
	m := newModel(t, spec, testKey)
	for _, progress := range []func(string){stream, nil} {
		out, err := m.Generate(context.Background(), task.Work{Capability: "chat", Input: "count"}, progress)
		if err != nil {
			t.Fatal(err)
		}
		if out.Text != "one two" || out.FinishReason != "length" {
			t.Fatalf("streamed %v: output %+v", progress != nil, out)
		}
	}
}

func TestCollectorToolCalls(t *testing.T) {
	var col collector
	for _, raw := range []string{
		`{"choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"f","arguments":""}}]}}]}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"x\""}}]}}]}`,
		// Parallel calls may interleave, and share a chunk.
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"g","arguments":"["}},{"index":0,"function":{"arguments":":1}"}}]}}]}`,
		`{"choices":[{"index":1,"delta":{"tool_calls":[{"index":0,"id":"other_choice","function":{"name":"h","arguments":"no"}}]}}]}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"]"}}]}}]}`,
		// Whole calls without an index, as a few servers send them.
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"id":"call_c","function":{"name":"k","arguments":"{}"}}]}}]}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"id":"call_d","type":"function","function":{"name":"k","arguments":"{\"y\":2}"}}]}}]}`,
		`{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
	} {
		if delta, err := col.add([]byte(raw)); err != nil || delta != "" {
			t.Fatalf("add(%s) = %q, %v", raw, delta, err)
		}
	}
	got, _ := json.Marshal(col.toolCalls())
	sameJSON(t, "calls", callsJSON(col.toolCalls()), `[
		{"id":"call_a","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}},
		{"id":"call_b","type":"function","function":{"name":"g","arguments":"[]"}},
		{"id":"call_c","type":"function","function":{"name":"k","arguments":"{}"}},
		{"id":"call_d","type":"function","function":{"name":"k","arguments":"{\"y\":2}"}}]`)
	if col.finish != "tool_calls" || !col.ended {
		t.Fatalf("finish %q ended %v (calls %s)", col.finish, col.ended, got)
	}
	if calls := (&collector{}).toolCalls(); callsJSON(calls) != nil {
		t.Fatalf("no calls encode as %s", callsJSON(calls))
	}
}

func TestFinishReasonWords(t *testing.T) {
	for in, want := range map[string]string{"stop": "stop", "length": "length", "tool_calls": "tool_calls",
		"content_filter": "content_filter", "function_call": "tool_calls", "eos": "", "": ""} {
		if got := finishReason(in); got != want {
			t.Errorf("finishReason(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBadToolsRefused(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	s.Script("m", openaitest.Behaviour{Reply: "x"})
	m := newModel(t, testSpec(s, "m"), testKey)
	for _, w := range []task.Work{
		{Input: "x", Tools: &task.Tools{Functions: json.RawMessage(`{"type":"function"}`)}},
		{Input: "x", Tools: &task.Tools{Functions: weatherTools, Choice: json.RawMessage(`[1]`)}},
		{Input: "x", After: []task.Message{{Role: "assistant", ToolCalls: json.RawMessage(`{"id":"call_a"}`)}}},
	} {
		_, err := m.Generate(context.Background(), w, nil)
		if e := task.AsError(err); e.Code != task.CodeInvalidRequest {
			t.Errorf("tools %+v after %+v: error %v, want invalid_request", w.Tools, w.After, err)
		}
	}
	if n := s.Calls("m"); n != 0 {
		t.Fatalf("%d requests reached the upstream", n)
	}
}
