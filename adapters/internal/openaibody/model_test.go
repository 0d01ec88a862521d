package openaibody

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

func TestSetModel(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"model":"gpt","messages":[]}`, `{"model":"up/1","messages":[]}`},
		{`{"messages":[{"model":"inner"}],"model" : "gpt" ,"x":1}`, `{"messages":[{"model":"inner"}],"model" : "up/1" ,"x":1}`},
		{`{"messages":[]}`, `{"model":"up/1","messages":[]}`},
		{` {}`, ` {"model":"up/1"}`},
		{`{"model":null}`, `{"model":"up/1"}`},
		{`{"model":"a","model":"b"}`, `{"model":"up/1","model":"up/1"}`},
		{`{"mod\u0065l":"sneaky","model":"a"}`, `{"mod\u0065l":"up/1","model":"up/1"}`},
		{`{"model":{"nested":["x"]},"n":1}`, `{"model":"up/1","n":1}`},
	} {
		if got := string(SetModel([]byte(c.in), "up/1")); got != c.want {
			t.Errorf("SetModel(%s) = %s, want %s", c.in, got, c.want)
		}
	}
	if got := string(SetModel([]byte(`{"model":"m"}`), "say \"hi\"</")); got != `{"model":"say \"hi\"\u003c/"}` {
		t.Errorf("escaping: %s", got)
	}
}

func FuzzSetModel(f *testing.F) {
	f.Add([]byte(`{"model":"gpt","messages":[{"role":"user","content":"hi"}],"logprobs":true}`), "up")
	f.Add([]byte(`{"a":{"model":1},"model":"x","model":"y"}`), "é\"\\")
	f.Add([]byte(`{}`), "")
	f.Add([]byte(`{"mod\u0065l":1}`), "m")
	f.Add([]byte(`{"model":`+strings.Repeat("[", 100)+strings.Repeat("]", 100)+`}`), "m")
	f.Fuzz(func(t *testing.T, body []byte, model string) {
		if !gjson.ValidBytes(body) || !gjson.ParseBytes(body).IsObject() {
			return
		}
		out := SetModel(body, model)
		var name string
		q, _ := json.Marshal(model)
		_ = json.Unmarshal(q, &name) // the model as JSON carries it: invalid UTF-8 as U+FFFD
		if !json.Valid(out) {
			t.Fatalf("SetModel(%s, %q) = %s, not JSON", body, model, out)
		}
		var before, after []gjson.Result
		gjson.ParseBytes(body).ForEach(func(k, v gjson.Result) bool { before = append(before, k, v); return true })
		gjson.ParseBytes(out).ForEach(func(k, v gjson.Result) bool { after = append(after, k, v); return true })
		sawModel := false
		for i := 0; i < len(after); i += 2 {
			if after[i].Str == "model" {
				sawModel = true
				if after[i+1].Type != gjson.String || after[i+1].Str != name {
					t.Fatalf("SetModel(%s, %q) = %s: model is %s", body, model, out, after[i+1].Raw)
				}
			}
		}
		if !sawModel {
			t.Fatalf("SetModel(%s, %q) = %s has no model", body, model, out)
		}
		// Every other key keeps its value, byte for byte, in order.
		var kept []string
		for i := 0; i < len(after); i += 2 {
			if after[i].Str != "model" {
				kept = append(kept, after[i].Raw+":"+after[i+1].Raw)
			}
		}
		var was []string
		for i := 0; i < len(before); i += 2 {
			if before[i].Str != "model" {
				was = append(was, before[i].Raw+":"+before[i+1].Raw)
			}
		}
		if strings.Join(kept, ",") != strings.Join(was, ",") {
			t.Fatalf("SetModel(%s, %q) = %s changed other keys", body, model, out)
		}
	})
}

func TestAppendModel(t *testing.T) {
	name := QuoteModel("up/1")
	for _, c := range []struct{ in, want string }{
		{`{"model":"gpt","choices":[]}`, `{"model":"up/1","choices":[]}`},
		{`{"id":"x","model":"a","model":"b"}`, `{"id":"x","model":"up/1","model":"up/1"}`},
		{`{"id":"x"}`, `{"model":"up/1","id":"x"}`},
	} {
		got := AppendModel([]byte("data: "), []byte(c.in), name)
		if string(got) != "data: "+c.want {
			t.Errorf("AppendModel(%s) = %s, want data: %s", c.in, got, c.want)
		}
		if SetModel([]byte(c.in), "up/1") == nil || string(SetModel([]byte(c.in), "up/1")) != c.want {
			t.Errorf("SetModel(%s) differs from AppendModel", c.in)
		}
	}
	// A relayed stream rewrites every chunk into its own buffer.
	chunk := []byte(`{"id":"c","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{"content":"hi"}}]}`)
	buf := make([]byte, 0, 512)
	if n := testing.AllocsPerRun(100, func() { buf = AppendModel(buf[:0], chunk, name) }); n != 0 {
		t.Errorf("AppendModel allocates %v times a chunk, want 0", n)
	}
}
