package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"testing"

	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/task"
)

// paths are Generate's two ways of calling the upstream.
var paths = []struct {
	name     string
	progress func(string)
}{{"streamed", stream}, {"unstreamed", nil}}

// samplingKeys are the request fields that only Sampling sets.
var samplingKeys = []string{"temperature", "top_p", "stop", "seed", "presence_penalty", "frequency_penalty", "response_format"}

func ptr[T any](v T) *T { return &v }

// sent generates w on model and returns the top-level fields of the
// request body the upstream received.
func sent(t *testing.T, s *openaitest.Server, m *Model, upstream string, w task.Work, progress func(string)) (task.Output, map[string]json.RawMessage) {
	t.Helper()
	if w.Capability == "" {
		w.Capability, w.Input = "chat", "hi"
	}
	out, err := m.Generate(context.Background(), w, progress)
	if err != nil {
		t.Fatal(err)
	}
	rec, ok := s.Last(upstream)
	if !ok {
		t.Fatal("no request recorded")
	}
	if rec.Stream != (progress != nil) {
		t.Fatalf("stream %v with progress %v", rec.Stream, progress != nil)
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(rec.Body, &body); err != nil {
		t.Fatalf("body %s: %v", rec.Body, err)
	}
	return out, body
}

func TestSamplingReachesUpstream(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	s.Script("m", openaitest.Behaviour{Reply: "ok"})
	m := newModel(t, testSpec(s, "m"), testKey)
	sp := &task.Sampling{
		Temperature:      ptr(0.0),
		TopP:             ptr(0.9),
		MaxTokens:        100,
		Stop:             []string{"END", "\n\n"},
		Seed:             ptr(int64(1) << 40),
		PresencePenalty:  ptr(-0.5),
		FrequencyPenalty: ptr(0.0),
		ResponseFormat:   json.RawMessage(`{"type":"json_object"}`),
	}
	want := map[string]string{
		"temperature":       "1e-45", // an explicit 0; see explicit
		"top_p":             "0.9",
		"max_tokens":        "100",
		"stop":              `["END","\n\n"]`,
		"seed":              "1099511627776",
		"presence_penalty":  "-0.5",
		"frequency_penalty": "1e-45",
		"response_format":   `{"type":"json_object"}`,
	}
	for _, p := range paths {
		_, body := sent(t, s, m, "m", task.Work{Sampling: sp}, p.progress)
		for k, v := range want {
			if string(body[k]) != v {
				t.Errorf("%s: %s is %s, want %s", p.name, k, body[k], v)
			}
		}
		var temp float64
		if err := json.Unmarshal(body["temperature"], &temp); err != nil || temp <= 0 || temp > 1e-40 {
			t.Errorf("%s: temperature %s does not read as zero (%v)", p.name, body["temperature"], err)
		}
		if _, ok := body["max_completion_tokens"]; ok {
			t.Errorf("%s: max_completion_tokens sent to a model that takes max_tokens", p.name)
		}
	}
}

func TestNoSamplingSendsNone(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	s.Script("m", openaitest.Behaviour{Reply: `{"a":1}`})
	m := newModel(t, testSpec(s, "m"), testKey)
	for name, sp := range map[string]*task.Sampling{"nil": nil, "empty": {}} {
		for _, p := range paths {
			out, body := sent(t, s, m, "m", task.Work{Sampling: sp}, p.progress)
			for _, k := range samplingKeys {
				if v, ok := body[k]; ok {
					t.Errorf("%s, %s sampling: %s sent as %s", p.name, name, k, v)
				}
			}
			if string(body["max_tokens"]) != "256" {
				t.Errorf("%s, %s sampling: max_tokens %s, want the model's 256", p.name, name, body["max_tokens"])
			}
			if out.Format != "text" {
				t.Errorf("%s, %s sampling: format %q of a JSON answer nobody asked for", p.name, name, out.Format)
			}
		}
	}
}

func TestMaxTokensCappedByModel(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	s.Script("m", openaitest.Behaviour{Reply: "one two three four"})
	for _, tc := range []struct {
		model, caller int
		want          string
	}{
		{256, 100, "100"},
		{256, 1000, "256"},
		{256, 0, "256"},
		{0, 50, "50"},
		{0, 0, ""},
	} {
		spec := testSpec(s, "m")
		spec.MaxOutputTokens = tc.model
		m := newModel(t, spec, testKey)
		for _, p := range paths {
			_, body := sent(t, s, m, "m", task.Work{Sampling: &task.Sampling{MaxTokens: tc.caller}}, p.progress)
			if string(body["max_tokens"]) != tc.want {
				t.Errorf("%s: model %d, caller %d: max_tokens %s, want %q", p.name, tc.model, tc.caller, body["max_tokens"], tc.want)
			}
		}
	}
	// The upstream honours the limit: two tokens of four.
	m := newModel(t, testSpec(s, "m"), testKey)
	out, err := m.Generate(context.Background(), task.Work{Capability: "chat", Input: "count", Sampling: &task.Sampling{MaxTokens: 2}}, stream)
	if err != nil || out.Text != "one two" {
		t.Fatalf("text %q, error %v; want the first two tokens", out.Text, err)
	}
}

// Reasoning models get the limit as max_completion_tokens and none of the
// sampling they fix, which go-openai would refuse to send.
func TestSamplingForReasoningModels(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	sp := &task.Sampling{
		Temperature: ptr(0.2), TopP: ptr(0.5), PresencePenalty: ptr(1.0), FrequencyPenalty: ptr(0.0),
		MaxTokens: 100, Seed: ptr(int64(7)), Stop: []string{"END"},
		ResponseFormat: json.RawMessage(`{"type":"json_object"}`),
	}
	for _, upstream := range []string{"o3", "gpt-5-mini", "gpt-6-sol"} {
		s.Script(upstream, openaitest.Behaviour{Reply: "ok"})
		spec := testSpec(s, "thinker")
		spec.UpstreamModel = upstream
		m := newModel(t, spec, testKey)
		for _, p := range paths {
			_, body := sent(t, s, m, upstream, task.Work{Sampling: sp}, p.progress)
			for _, k := range []string{"temperature", "top_p", "presence_penalty", "frequency_penalty", "max_tokens"} {
				if v, ok := body[k]; ok {
					t.Errorf("%s %s: %s sent as %s", upstream, p.name, k, v)
				}
			}
			if string(body["max_completion_tokens"]) != "100" || string(body["seed"]) != "7" || string(body["stop"]) != `["END"]` ||
				string(body["response_format"]) != `{"type":"json_object"}` {
				t.Errorf("%s %s: body lacks the limit, seed, stop or response_format: %v", upstream, p.name, body)
			}
		}
	}
	// Other models get temperature 1 as asked.
	s.Script("gpt-4o", openaitest.Behaviour{Reply: "ok"})
	m := newModel(t, testSpec(s, "gpt-4o"), testKey)
	if _, body := sent(t, s, m, "gpt-4o", task.Work{Sampling: &task.Sampling{Temperature: ptr(1.0)}}, stream); string(body["temperature"]) != "1" {
		t.Errorf("gpt-4o: temperature %s, want 1", body["temperature"])
	}
}

func TestResponseFormats(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	s.Script("m", openaitest.Behaviour{Reply: "ok"})
	m := newModel(t, testSpec(s, "m"), testKey)
	// The schema uses keywords go-openai's jsonschema.Definition lacks
	// ($defs, anyOf, title), in an order it would not write.
	const schema = `{"title": "Answer", "type": "object",
		"$defs": {"n": {"type": "integer", "minimum": 0}},
		"properties": {"value": {"anyOf": [{"$ref": "#/$defs/n"}, {"type": "null"}]}, "note": {"type": "string", "description": "é \" \\ \n"}},
		"required": ["value", "note"], "additionalProperties": false}`
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(schema)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, want string }{
		{`{"type":"text"}`, `{"type":"text"}`},
		{`{"type": "json_object"}`, `{"type":"json_object"}`},
		{`{"type":"json_schema","json_schema":{"strict":true,"description":"the answer","name":"answer","schema":` + schema + `}}`,
			`{"type":"json_schema","json_schema":{"name":"answer","description":"the answer","schema":` + compact.String() + `,"strict":true}}`},
		{`{"type":"json_schema","json_schema":{"name":"free"}}`,
			`{"type":"json_schema","json_schema":{"name":"free","schema":{},"strict":false}}`},
	} {
		for _, p := range paths {
			w := task.Work{Sampling: &task.Sampling{ResponseFormat: json.RawMessage(tc.in)}}
			if _, body := sent(t, s, m, "m", w, p.progress); string(body["response_format"]) != tc.want {
				t.Errorf("%s: response_format %s\nsent %s\nwant %s", p.name, tc.in, body["response_format"], tc.want)
			}
		}
	}
	_, err := m.Generate(context.Background(), task.Work{Capability: "chat", Input: "hi",
		Sampling: &task.Sampling{ResponseFormat: json.RawMessage(`{"type":"xml"}`)}}, stream)
	if e := task.AsError(err); e == nil || e.Code != task.CodeInvalidRequest {
		t.Fatalf("unknown type: error %v, want invalid_request", err)
	}
}

func TestOutputFormatJSON(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	const doc = `{"answer": 42, "why": "it is"}`
	s.Script("json", openaitest.Behaviour{Reply: doc})
	s.Script("prose", openaitest.Behaviour{Reply: "The answer is 42."})
	object := json.RawMessage(`{"type":"json_object"}`)
	schema := json.RawMessage(`{"type":"json_schema","json_schema":{"name":"a","schema":{"type":"object"}}}`)
	text := json.RawMessage(`{"type":"text"}`)
	for _, tc := range []struct {
		model  string
		format json.RawMessage
		want   string
	}{
		{"json", object, "json"},
		{"json", schema, "json"},
		{"json", text, "text"},
		{"json", nil, "text"},
		{"prose", object, "text"}, // asked for JSON, did not get it
	} {
		m := newModel(t, testSpec(s, tc.model), testKey)
		for _, p := range paths {
			out, _ := sent(t, s, m, tc.model, task.Work{Sampling: &task.Sampling{ResponseFormat: tc.format}}, p.progress)
			if out.Format != tc.want {
				t.Errorf("%s: %s answer with response_format %s: format %q, want %q", p.name, tc.model, tc.format, out.Format, tc.want)
			}
			if tc.model == "json" && out.Text != doc {
				t.Errorf("%s: text %q, want %q", p.name, out.Text, doc)
			}
		}
	}
}

func TestExplicit(t *testing.T) {
	for _, tc := range []struct {
		in   *float64
		want float32
	}{
		{nil, 0},
		{ptr(0.0), math.SmallestNonzeroFloat32},
		{ptr(1e-50), math.SmallestNonzeroFloat32}, // zero once a float32
		{ptr(0.7), 0.7},
		{ptr(-2.0), -2},
	} {
		if got := explicit(tc.in); got != tc.want {
			t.Errorf("explicit(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
