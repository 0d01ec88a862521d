package httpapi

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

func f64(v float64) *float64 { return &v }
func i64(v int64) *int64     { return &v }

// samplingBodies wraps the same generation settings (a JSON object's
// members, without braces) in a chat completion and in a job request: both
// must read them alike.
func samplingBodies(fields string) map[string][]byte {
	if fields != "" {
		fields = "," + fields
	}
	return map[string][]byte{
		"chat": []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]` + fields + `}`),
		"job":  []byte(`{"input":"hi"` + fields + `}`),
	}
}

// decodeSampling runs one of the two decoders.
func decodeSampling(kind string, body []byte) (*task.Sampling, *apiError) {
	if kind == "chat" {
		c, e := decodeChat(body)
		return c.sampling.s, e
	}
	_, req, e := decodeJobRequest(body, task.Limits{})
	return req.Sampling, e
}

func TestSamplingFields(t *testing.T) {
	cases := []struct {
		name, fields string
		want         *task.Sampling
	}{
		{"none", ``, nil},
		{"nulls", `"temperature":null,"max_tokens":null,"stop":null,"response_format":null`, nil},
		{"empty stop array", `"stop":[]`, nil},
		{"temperature 0", `"temperature":0`, &task.Sampling{Temperature: f64(0)}},
		{"floats", `"temperature":1.3,"top_p":0.5,"presence_penalty":-2,"frequency_penalty":2`,
			&task.Sampling{Temperature: f64(1.3), TopP: f64(0.5), PresencePenalty: f64(-2), FrequencyPenalty: f64(2)}},
		{"max_tokens", `"max_tokens":100`, &task.Sampling{MaxTokens: 100}},
		{"max_completion_tokens", `"max_completion_tokens":50`, &task.Sampling{MaxTokens: 50}},
		{"both max token names agreeing", `"max_tokens":64,"max_completion_tokens":64`, &task.Sampling{MaxTokens: 64}},
		{"stop string", `"stop":"END"`, &task.Sampling{Stop: []string{"END"}}},
		{"stop array", `"stop":["a","\n\n"]`, &task.Sampling{Stop: []string{"a", "\n\n"}}},
		{"seed beyond float64 precision", `"seed":9007199254740993`, &task.Sampling{Seed: i64(9007199254740993)}},
		{"negative seed", `"seed":-7`, &task.Sampling{Seed: i64(-7)}},
		{"response_format kept as sent", `"response_format":{"type": "json_object"}`,
			&task.Sampling{ResponseFormat: json.RawMessage(`{"type": "json_object"}`)}},
		{"json_schema", `"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"}}}`,
			&task.Sampling{ResponseFormat: json.RawMessage(`{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"}}}`)}},
	}
	for _, c := range cases {
		for kind, body := range samplingBodies(c.fields) {
			t.Run(kind+"/"+c.name, func(t *testing.T) {
				got, e := decodeSampling(kind, body)
				if e != nil {
					t.Fatalf("refused %s: %s", body, e.Message)
				}
				if !reflect.DeepEqual(got, c.want) {
					gj, _ := json.Marshal(got)
					wj, _ := json.Marshal(c.want)
					t.Fatalf("sampling = %s, want %s", gj, wj)
				}
			})
		}
	}
}

// Chat completions accept OpenAI's other fields and ignore them; job
// requests, which are taskrouter's own, refuse unknown fields.
func TestChatIgnoresOtherFields(t *testing.T) {
	body := samplingBodies(`"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"none","logit_bias":{"50256":-100},"user":"u1","logprobs":true`)
	if got, e := decodeSampling("chat", body["chat"]); e != nil || got != nil {
		t.Fatalf("chat: sampling %+v, error %v", got, e)
	}
	if _, e := decodeSampling("job", body["job"]); e == nil || *e.Code != "invalid_json" {
		t.Fatalf("job: error %+v, want invalid_json", e)
	}
}

func TestSamplingErrors(t *testing.T) {
	long := strings.Repeat("x", 257)
	cases := []struct {
		name, fields, code, param string
		// inMessage is what the message must say, besides the param.
		inMessage string
	}{
		{"temperature string", `"temperature":"0.7"`, "invalid_type", "temperature", "number"},
		{"top_p bool", `"top_p":true`, "invalid_type", "top_p", "number"},
		{"presence_penalty object", `"presence_penalty":{}`, "invalid_type", "presence_penalty", "number"},
		{"frequency_penalty string", `"frequency_penalty":"x"`, "invalid_type", "frequency_penalty", "number"},
		{"max_tokens fraction", `"max_tokens":1.5`, "invalid_type", "max_tokens", "integer"},
		{"max_tokens string", `"max_tokens":"100"`, "invalid_type", "max_tokens", "integer"},
		{"max_completion_tokens array", `"max_completion_tokens":[]`, "invalid_type", "max_completion_tokens", "integer"},
		{"seed fraction", `"seed":1.5`, "invalid_type", "seed", "integer"},
		{"seed string", `"seed":"1"`, "invalid_type", "seed", "integer"},
		{"stop number", `"stop":5`, "invalid_type", "stop", "string or an array of strings"},
		{"stop mixed array", `"stop":["a",1]`, "invalid_type", "stop", "string or an array of strings"},
		{"response_format string", `"response_format":"json_object"`, "invalid_type", "response_format", "object"},

		{"temperature above", `"temperature":2.5`, "invalid_value", "temperature", "between 0 and 2"},
		{"temperature below", `"temperature":-0.1`, "invalid_value", "temperature", "between 0 and 2"},
		{"top_p above", `"top_p":1.1`, "invalid_value", "top_p", "between 0 and 1"},
		{"presence_penalty below", `"presence_penalty":-3`, "invalid_value", "presence_penalty", "between -2 and 2"},
		{"frequency_penalty above", `"frequency_penalty":2.01`, "invalid_value", "frequency_penalty", "between -2 and 2"},
		{"max_tokens 0", `"max_tokens":0`, "invalid_value", "max_tokens", "at least 1"},
		{"max_tokens negative", `"max_tokens":-5`, "invalid_value", "max_tokens", "at least 1"},
		{"max_completion_tokens 0", `"max_completion_tokens":0`, "invalid_value", "max_completion_tokens", "at least 1"},
		{"max_tokens too large", `"max_tokens":99999999999999999999`, "invalid_value", "max_tokens", "too large"},
		{"seed too large", `"seed":99999999999999999999`, "invalid_value", "seed", "too large"},
		{"five stops", `"stop":["a","b","c","d","e"]`, "invalid_value", "stop", "at most 4"},
		{"empty stop", `"stop":""`, "invalid_value", "stop", "1 to 256 bytes"},
		{"long stop", `"stop":["a","` + long + `"]`, "invalid_value", "stop", "1 to 256 bytes"},
		{"response_format type", `"response_format":{"type":"xml"}`, "invalid_value", "response_format", "json_object"},
		{"json_schema without name", `"response_format":{"type":"json_schema","json_schema":{}}`, "invalid_value", "response_format", "name"},

		{"max token names differ", `"max_tokens":10,"max_completion_tokens":20`, "conflicting_max_tokens", "max_completion_tokens", "max_tokens is 10 but max_completion_tokens is 20"},
		{"max token names differ, newer first", `"max_completion_tokens":20,"max_tokens":10`, "conflicting_max_tokens", "max_completion_tokens", "max_tokens is 10 but max_completion_tokens is 20"},
	}
	for _, c := range cases {
		for kind, body := range samplingBodies(c.fields) {
			t.Run(kind+"/"+c.name, func(t *testing.T) {
				got, e := decodeSampling(kind, body)
				if e == nil {
					t.Fatalf("accepted %s as %+v", body, got)
				}
				if e.Status != http.StatusBadRequest || e.Type != typeInvalidRequest || e.Code == nil || *e.Code != c.code ||
					e.Param == nil || *e.Param != c.param {
					t.Fatalf("error = %+v (code %v, param %v), want %s on %s", e, deref(e.Code), deref(e.Param), c.code, c.param)
				}
				if !strings.Contains(e.Message, c.param) || !strings.Contains(e.Message, c.inMessage) {
					t.Fatalf("message %q does not name %s and say %q", e.Message, c.param, c.inMessage)
				}
			})
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
