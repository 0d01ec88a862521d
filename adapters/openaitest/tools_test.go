package openaitest

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/taskrouter/taskrouter/task"
)

const toolsBody = `"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}],` +
	`"tool_choice":"auto","parallel_tool_calls":true,"messages":[{"role":"user","content":"Paris?"}]`

var weatherCalls = []ToolCall{
	{Name: "get_weather", Arguments: `{"city":"Paris","note":"Zürich"}`},
	{ID: "call_fixed", Name: "get_time", Arguments: `{}`},
}

// wireMessage is a message or delta with the tool fields, content kept raw
// to tell null from "".
type wireMessage struct {
	Role      *string         `json:"role"`
	Content   json.RawMessage `json:"content"`
	ToolCalls []struct {
		Index    *int    `json:"index"`
		ID       *string `json:"id"`
		Type     *string `json:"type"`
		Function struct {
			Name      *string `json:"name"`
			Arguments *string `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`
}

type toolChunk struct {
	Choices []struct {
		Message      *wireMessage `json:"message"`
		Delta        *wireMessage `json:"delta"`
		FinishReason *string      `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		Completion int `json:"completion_tokens"`
	} `json:"usage"`
}

func TestToolCallsCompletion(t *testing.T) {
	s := New()
	defer s.Close()
	s.Script("m", Behaviour{ToolCalls: weatherCalls})
	resp := mustPost(t, s.URL(), `{"model":"m",`+toolsBody+`}`)
	var c toolChunk
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		t.Fatal(err)
	}
	msg := c.Choices[0].Message
	if string(msg.Content) != "null" || *c.Choices[0].FinishReason != "tool_calls" || len(msg.ToolCalls) != 2 {
		t.Fatalf("content %s, finish %q, %d calls", msg.Content, *c.Choices[0].FinishReason, len(msg.ToolCalls))
	}
	for i, tc := range msg.ToolCalls {
		want := weatherCalls[i]
		if tc.Index != nil || *tc.Type != "function" || *tc.Function.Name != want.Name || *tc.Function.Arguments != want.Arguments {
			t.Fatalf("call %d: %+v", i, tc)
		}
	}
	if id := *msg.ToolCalls[0].ID; !strings.HasPrefix(id, "call_") || len(id) < 10 || *msg.ToolCalls[1].ID != "call_fixed" {
		t.Fatalf("ids %q, %q", id, *msg.ToolCalls[1].ID)
	}
	// One token for each name and each argument fragment.
	if want := 2 + len(argPieces(weatherCalls[0].Arguments)) + 1; c.Usage == nil || c.Usage.Completion != want {
		t.Fatalf("usage %+v, want %d completion tokens", c.Usage, want)
	}
	rec, _ := s.Last("m")
	if string(rec.Tools) != `[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]` ||
		string(rec.ToolChoice) != `"auto"` || rec.ParallelToolCalls == nil || !*rec.ParallelToolCalls {
		t.Fatalf("record tools %s, choice %s, parallel %v", rec.Tools, rec.ToolChoice, rec.ParallelToolCalls)
	}
}

func TestToolCallsStream(t *testing.T) {
	s := New()
	defer s.Close()
	s.Script("m", Behaviour{ToolCalls: weatherCalls})
	s.Script("text", Behaviour{Reply: "Let me see.", ToolCalls: weatherCalls[1:], FinishReason: "stop"})
	for _, tc := range []struct {
		model, text, finish string
		calls               []ToolCall
	}{
		{"m", "", "tool_calls", weatherCalls},
		{"text", "Let me see.", "stop", weatherCalls[1:]},
	} {
		t.Run(tc.model, func(t *testing.T) {
			events := sseEvents(t, mustPost(t, s.URL(), `{"model":"`+tc.model+`","stream":true,"stream_options":{"include_usage":true},`+toolsBody+`}`).Body)
			if events[len(events)-1] != "[DONE]" {
				t.Fatalf("last event %q", events[len(events)-1])
			}
			var text strings.Builder
			var finish string
			args := map[int][]string{}
			ids, names := map[int]string{}, map[int]string{}
			for i, e := range events[:len(events)-1] {
				var c toolChunk
				if err := json.Unmarshal([]byte(e), &c); err != nil {
					t.Fatalf("event %q: %v", e, err)
				}
				if len(c.Choices) == 0 {
					if c.Usage == nil || i != len(events)-2 {
						t.Fatalf("chunk %d without choices: %s", i, e)
					}
					continue
				}
				d := c.Choices[0].Delta
				if i == 0 && (d.Role == nil || *d.Role != "assistant") {
					t.Fatalf("first chunk %s has no role", e)
				}
				if i == 0 && tc.text == "" && string(d.Content) != "null" {
					t.Fatalf("first chunk %s: content is not null", e)
				}
				if c.Choices[0].FinishReason != nil {
					finish = *c.Choices[0].FinishReason
				}
				var s string
				if json.Unmarshal(d.Content, &s) == nil {
					text.WriteString(s)
				}
				for _, call := range d.ToolCalls {
					n := *call.Index
					if call.ID != nil {
						// The first chunk of a call: id, type, name, no arguments.
						if ids[n] != "" || *call.Type != "function" || call.Function.Name == nil || *call.Function.Arguments != "" {
							t.Fatalf("first chunk of call %d: %s", n, e)
						}
						ids[n], names[n] = *call.ID, *call.Function.Name
						continue
					}
					if ids[n] == "" || call.Function.Name != nil {
						t.Fatalf("argument chunk of call %d: %s", n, e)
					}
					args[n] = append(args[n], *call.Function.Arguments)
				}
			}
			if text.String() != tc.text || finish != tc.finish || len(ids) != len(tc.calls) {
				t.Fatalf("text %q, finish %q, calls %v", text.String(), finish, ids)
			}
			for i, want := range tc.calls {
				if names[i] != want.Name || strings.Join(args[i], "") != want.Arguments || (want.ID != "" && ids[i] != want.ID) {
					t.Fatalf("call %d: %s %s(%q), want %+v", i, ids[i], names[i], args[i], want)
				}
				if len(want.Arguments) > 4 && len(args[i]) < 2 {
					t.Fatalf("call %d: arguments %q in one piece, not streamed", i, args[i])
				}
			}
		})
	}
}

// ToolCallsFunc lets one model call functions until it has their results,
// and the record keeps the messages' tool fields.
func TestToolCallsFuncAndRecord(t *testing.T) {
	s := New()
	defer s.Close()
	s.Script("m", Behaviour{
		ReplyFunc: func(msgs []task.Message) string { return "result was " + msgs[len(msgs)-1].Content },
		ToolCallsFunc: func(msgs []task.Message) []ToolCall {
			if msgs[len(msgs)-1].Role == "tool" {
				return nil
			}
			return weatherCalls[1:]
		},
	})
	resp := mustPost(t, s.URL(), `{"model":"m","messages":[{"role":"user","content":"time?"},`+
		`{"role":"assistant","content":null,"tool_calls":[{"id":"call_fixed","type":"function","function":{"name":"get_time","arguments":"{}"}}]},`+
		`{"role":"tool","tool_call_id":"call_fixed","name":"get_time","content":"14:05"}]}`)
	var c toolChunk
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		t.Fatal(err)
	}
	if m := c.Choices[0].Message; string(m.Content) != `"result was 14:05"` || m.ToolCalls != nil || *c.Choices[0].FinishReason != "stop" {
		t.Fatalf("answer %s with calls %+v", m.Content, m.ToolCalls)
	}
	rec, _ := s.Last("m")
	if len(rec.Messages) != 3 || rec.Messages[1].Content != "" ||
		string(rec.Messages[1].ToolCalls) != `[{"id":"call_fixed","type":"function","function":{"name":"get_time","arguments":"{}"}}]` ||
		rec.Messages[2].ToolCallID != "call_fixed" || rec.Messages[2].Name != "get_time" || rec.Tools != nil || rec.ParallelToolCalls != nil {
		t.Fatalf("record %+v", rec)
	}
}

// A stream failure strikes inside the tool calls too, after the content
// chunks it was told to let through.
func TestToolCallsStreamFailure(t *testing.T) {
	s := New()
	defer s.Close()
	s.Script("m", Behaviour{ToolCalls: weatherCalls, Fail: FailMalformed, ChunksBeforeFailure: 3})
	events := sseEvents(t, mustPost(t, s.URL(), `{"model":"m","stream":true,`+toolsBody+`}`).Body)
	if len(events) != 4 {
		t.Fatalf("%d events, want 3 chunks and the malformed one: %q", len(events), events)
	}
	if last := events[3]; json.Valid([]byte(last)) || strings.Contains(last, "[DONE]") {
		t.Fatalf("last event %q", last)
	}
}

func TestArgPieces(t *testing.T) {
	for _, in := range []string{"", "{}", `{"city":"Zürich","emoji":"🙂"}`, "日本語のテキスト"} {
		pieces := argPieces(in)
		if strings.Join(pieces, "") != in {
			t.Fatalf("pieces %q of %q", pieces, in)
		}
		for _, p := range pieces {
			if !utf8.ValidString(p) || p == "" {
				t.Fatalf("piece %q of %q", p, in)
			}
		}
	}
}
