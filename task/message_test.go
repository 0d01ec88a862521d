package task

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestMessageContentForms(t *testing.T) {
	for _, c := range []struct {
		in, text, parts string
		bad             bool
	}{
		{in: `{"role":"user","content":"hi"}`, text: "hi"},
		{in: `{"role":"assistant","content":null}`},
		{in: `{"role":"assistant"}`},
		{in: `{"role":"user","content":[{"type":"text","text":"Hello"},{"type":"text","text":"world"}]}`, text: "Hello\nworld",
			parts: `[{"type":"text","text":"Hello"},{"type":"text","text":"world"}]`},
		{in: `{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:x"}},{"type":"text","text":"What is it?"}]}`,
			text: "What is it?", parts: `[{"type":"image_url","image_url":{"url":"data:x"}},{"type":"text","text":"What is it?"}]`},
		{in: `{"role":"user","content":[]}`, parts: `[]`},
		{in: `{"role":"user","content":5}`, bad: true},
		{in: `{"role":"user","content":{"type":"text"}}`, bad: true},
		{in: `{"role":"user","content":["hi"]}`, bad: true},
		{in: `{"role":"user","content":[{"text":"no type"}]}`, bad: true},
		{in: `{"role":"user","content":[{"type":"text"}]}`, bad: true},
		{in: `{"role":"user","content":[{"type":"text","text":1}]}`, bad: true},
		{in: `{"role":"user","content":"x","extra":1}`, bad: true},
	} {
		var m Message
		err := json.Unmarshal([]byte(c.in), &m)
		if c.bad {
			if err == nil {
				t.Errorf("%s was accepted as %+v", c.in, m)
			}
			continue
		}
		if err != nil || m.Content != c.text || string(m.Parts) != c.parts {
			t.Errorf("%s: content %q, parts %s, %v; want %q, %s", c.in, m.Content, m.Parts, err, c.text, c.parts)
		}
	}
}

// A message's content goes back on the wire as it came: the parts as
// sent, or the string.
func TestMessageRoundTrip(t *testing.T) {
	for _, in := range []string{
		`{"role":"user","content":[{"type":"text","text":"a"},{"type":"input_audio","input_audio":{"data":"AAA","format":"wav"}}],"name":"ana"}`,
		`{"role":"user","content":"plain"}`,
		`{"role":"assistant","content":"","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]}`,
		`{"role":"tool","content":"42","tool_call_id":"c"}`,
	} {
		var m Message
		if err := json.Unmarshal([]byte(in), &m); err != nil {
			t.Fatal(err)
		}
		out, err := json.Marshal(m)
		if err != nil || string(out) != in {
			t.Errorf("round trip of %s gave %s, %v", in, out, err)
		}
	}
}

func TestMessageMedia(t *testing.T) {
	var m Message
	_ = json.Unmarshal([]byte(`{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"u"}}]}`), &m)
	if got := m.Media(); got != "image_url" {
		t.Errorf("Media = %q, want image_url", got)
	}
	if got := (Message{Role: "user", Content: "x"}).Media(); got != "" {
		t.Errorf("Media of text = %q", got)
	}
}

// Images and audio go only to a model the caller names: planned steps
// read text, and would answer as if the picture were not there.
func TestRequestWithMediaNeedsModel(t *testing.T) {
	body := `"messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]`
	_, err := DecodeRequest([]byte(`{`+body+`}`), DefaultLimits)
	if e := AsError(err); e == nil || e.Code != CodeInvalidRequest || !strings.Contains(e.Message, "image_url") {
		t.Fatalf("without a model: %v", err)
	}
	r, err := DecodeRequest([]byte(`{"model":"vision",`+body+`}`), DefaultLimits)
	if err != nil {
		t.Fatalf("with a model: %v", err)
	}
	if in, _ := r.Text(); in != "What is this?" {
		t.Errorf("input %q", in)
	}
}

func TestChatBodyIsTheCallersConversation(t *testing.T) {
	var r Request
	err := json.Unmarshal([]byte(`{"model":"m","messages":[{"role":"system","content":"Be terse."},
		{"role":"user","content":[{"type":"text","text":"Hello"},{"type":"text","text":"world"}]}],
		"sampling":{"temperature":0,"response_format":{"type":"json_schema","json_schema":{"name":"a","schema":{"type":"object"}}}},
		"tools":{"functions":[{"type":"function","function":{"name":"f"}}],"choice":"auto","parallel":false}}`), &r)
	if err != nil {
		t.Fatal(err)
	}
	body, err := r.ChatBody(false)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"messages":[{"role":"system","content":"Be terse."},{"role":"user","content":[{"type":"text","text":"Hello"},{"type":"text","text":"world"}]}],` +
		`"temperature":0,"response_format":{"type":"json_schema","json_schema":{"name":"a","schema":{"type":"object"}}},` +
		`"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"auto","parallel_tool_calls":false}`
	if string(body) != want {
		t.Errorf("body\n%s\nwant\n%s", body, want)
	}
	body, _ = Request{Input: "hi", Messages: []Message{{Role: "system", Content: "s"}}}.ChatBody(true)
	if want := `{"messages":[{"role":"system","content":"s"},{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}`; string(body) != want {
		t.Errorf("body %s, want %s", body, want)
	}
}

func FuzzMessage(f *testing.F) {
	f.Add([]byte(`{"role":"user","content":"hi"}`))
	f.Add([]byte(`{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"u"}}]}`))
	f.Add([]byte(`{"role":"assistant","content":null,"tool_calls":[]}`))
	f.Add([]byte(`{"role":"user","content":[{"type":"text","text":"\u00e9"}]}`))
	f.Add([]byte(`{"role":"user","content":` + strings.Repeat("[", 200) + `}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m Message
		if json.Unmarshal(data, &m) != nil {
			return
		}
		// What was accepted goes out and comes back the same.
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("encoding %+v: %v", m, err)
		}
		var back Message
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("decoding %s: %v", out, err)
		}
		if back.Content != m.Content || back.Role != m.Role || (len(m.Parts) > 0) != (len(back.Parts) > 0) {
			t.Fatalf("%s came back as %+v, was %+v", out, back, m)
		}
		if m.Media() != back.Media() {
			t.Fatalf("media %q came back as %q", m.Media(), back.Media())
		}
	})
}

// A model that cannot relay a body reads the work as it would have come
// without one.
func TestWorkUnpacked(t *testing.T) {
	w := Work{Input: "hi", Body: json.RawMessage(`{"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":"hi","refusal":null},` +
		`{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},` +
		`{"role":"tool","tool_call_id":"c","content":[{"type":"text","text":"42"}]}],"stop":"\n","max_completion_tokens":9,"temperature":0,` +
		`"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":null,"logprobs":true}`)}
	got, err := w.Unpacked()
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Context) != 1 || got.Context[0].Content != "s" || len(got.After) != 2 || got.After[1].Content != "42" || got.After[1].ToolCallID != "c" {
		t.Fatalf("context %+v, after %+v", got.Context, got.After)
	}
	if s := got.Sampling; s == nil || s.MaxTokens != 9 || len(s.Stop) != 1 || s.Temperature == nil || *s.Temperature != 0 {
		t.Fatalf("sampling %+v", got.Sampling)
	}
	if got.Tools == nil || got.Tools.Choice != nil || got.Input != "hi" {
		t.Fatalf("tools %+v, input %q", got.Tools, got.Input)
	}
	if plain, _ := (Work{Input: "x", Body: json.RawMessage(`{"messages":[{"role":"user","content":"x"}]}`)}).Unpacked(); plain.Sampling != nil || plain.Tools != nil {
		t.Fatalf("a body without sampling or tools gave %+v", plain)
	}
	if same, _ := (Work{API: APIEmbeddings, Input: "x", Body: json.RawMessage(`{"input":"x"}`)}).Unpacked(); same.Context != nil {
		t.Fatalf("embeddings work unpacked to %+v", same)
	}
	if _, err := (Work{Body: json.RawMessage(`{"messages":[{"role":"user","content":7}]}`)}).Unpacked(); err == nil {
		t.Fatal("a bad content was accepted")
	}
}
