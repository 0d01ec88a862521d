package task

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSamplingCheck(t *testing.T) {
	for _, tc := range []struct {
		sampling string
		wantErr  string // "" when it is fine
	}{
		{`{}`, ""},
		{`{"temperature":0,"top_p":1,"max_tokens":1,"seed":-3,"presence_penalty":-2,"frequency_penalty":2}`, ""},
		{`{"stop":["a","b","c","d"],"response_format":{"type":"json_object"}}`, ""},
		{`{"response_format":{"type":"json_schema","json_schema":{"name":"answer","schema":{"type":"object"}}}}`, ""},
		{`{"temperature":2.5}`, "temperature is 2.5; it must be between 0 and 2"},
		{`{"top_p":-0.1}`, "top_p"},
		{`{"presence_penalty":3}`, "presence_penalty"},
		{`{"frequency_penalty":-2.01}`, "frequency_penalty"},
		{`{"max_tokens":-1}`, "max_tokens"},
		{`{"stop":["a","b","c","d","e"]}`, "at most 4"},
		{`{"stop":[""]}`, "stop sequence"},
		{`{"response_format":{"type":"xml"}}`, `response_format type "xml"`},
		{`{"response_format":{"type":"json_schema"}}`, "json_schema object with a name"},
		{`{"response_format":[1]}`, "must be an object"},
	} {
		var s Sampling
		if err := json.Unmarshal([]byte(tc.sampling), &s); err != nil {
			t.Fatal(err)
		}
		err := s.Check()
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.sampling, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || AsError(err).Code != CodeInvalidRequest):
			t.Errorf("%s: error %v, want invalid_request saying %q", tc.sampling, err, tc.wantErr)
		}
	}
	if (*Sampling)(nil).Check() != nil {
		t.Fatal("a nil Sampling is not fine")
	}
	if _, err := DecodeRequest([]byte(`{"input":"x","sampling":{"temperature":9}}`), DefaultLimits); err == nil || !strings.Contains(err.Error(), "temperature") {
		t.Fatalf("DecodeRequest let an out-of-range temperature through: %v", err)
	}
}
