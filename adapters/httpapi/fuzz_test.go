package httpapi

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/task"
)

func FuzzDecodeChat(f *testing.F) {
	f.Add([]byte(`{"model":"taskrouter","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"system","content":null},{"role":"user","content":[{"type":"text","text":"a"}]}],"n":1}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url"}]}]}`))
	f.Add([]byte(`{"model":"taskrouter","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"input_audio","input_audio":{}}]}]}`))
	f.Add([]byte(`{"model":"taskrouter","messages":[{"role":"user","content":[{"type":"text","text":"size?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},{"type":"file","file":{"file_id":"art_0123456789abcdef0123456789abcdef"}}]}]}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},7,{"type":"text"}]}],"logprobs":true,"x_unknown":[` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `]}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":0,"top_p":0.9,"max_tokens":64,"max_completion_tokens":64,"stop":["\n\n","END"],"seed":-3,"presence_penalty":-2,"frequency_penalty":1.5,"response_format":{"type":"json_schema","json_schema":{"name":"a","schema":{}}}}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":null,"stop":"","max_tokens":1e3,"response_format":{"type":"json_object"}}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"x"}],"max_completion_tokens":5,"max_tokens":6,"seed":99999999999999999999,"stop":[]}`))
	f.Add([]byte(`{"model":"m","tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}],"tool_choice":{"type":"function","function":{"name":"get_weather"}},"parallel_tool_calls":false,` +
		`"messages":[{"role":"user","content":"x","name":"ann"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"sunny"}]}`))
	f.Add([]byte(`{"model":"taskrouter","tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"none","messages":[{"role":"user","content":"x"},{"role":"tool","tool_call_id":"","content":[{"type":"text","text":"y"}]}]}`))
	f.Add([]byte(`{"model":"m","tools":[],"tool_choice":"required","functions":[{"name":"f"}],"function_call":"auto","messages":[{"role":"assistant","tool_calls":[{"type":"function"}]},{"role":"user","content":"x","tool_calls":[]}]}`))
	f.Add([]byte(`{"model":"m","tools":[{"type":"function","function":{"name":"a"}},{"type":"function","function":{"name":"a b"}}],"tool_choice":{"type":"function","function":{"name":"b"}},"parallel_tool_calls":1,"messages":[{"role":"user","content":"x"}]}`))
	f.Add([]byte(strings.Repeat("[", 200)))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":` + strings.Repeat(`{"a":`, 130) + `1` + strings.Repeat("}", 130) + `}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, e := decodeChat(body)
		if e != nil {
			if e.Status != http.StatusBadRequest || e.Code == nil || e.Message == "" {
				t.Fatalf("error %+v", e)
			}
			return
		}
		if c.model == "" || len(c.messages) == 0 {
			t.Fatalf("accepted %q as %+v", body, c)
		}
		// A request with no generation setting has no Sampling.
		if s := c.sampling.s; s != nil && reflect.DeepEqual(*s, task.Sampling{}) {
			t.Fatalf("accepted %q with an empty Sampling", body)
		}
		if c.tools != nil && c.model == ModelTaskrouter {
			t.Fatalf("accepted %q: tools for a planned answer", body)
		}
		// What decodeChat accepts, the router accepts as a request: for a
		// named model, the one-step plan route pins to it.
		req := task.Request{Messages: c.messages, Sampling: c.sampling.s, Tools: c.tools}
		if c.model == ModelTaskrouter {
			req.Messages = textMessages(req.Messages) // media parts become attachments
		} else {
			input, _ := req.Text()
			req.Model, req.Plan = c.model, &task.Plan{Tasks: []task.Subtask{{ID: "t1", Capability: "chat", Input: input, Deps: []string{}}}}
		}
		if err := req.Check(task.Limits{MaxInputBytes: 1 << 30}); err != nil {
			t.Fatalf("accepted %q, but the router refuses it: %v", body, err)
		}
	})
}

func FuzzDecodeJobRequest(f *testing.F) {
	f.Add([]byte(`{"input":"x","model":"m","callback_url":"https://example.com/cb","metadata":{"a":"b"},"timeout_ms":100}`))
	f.Add([]byte(`{"messages":[{"role":"user","content":"x"}],"planner":"rules"}`))
	f.Add([]byte(`{"input":"x"} {"input":"y"}`))
	f.Add([]byte(`{"input":"x","temperature":0,"max_tokens":10,"stop":"END","seed":7,"response_format":{"type":"text"}}`))
	f.Add([]byte(`{"input":"x","top_p":2,"max_completion_tokens":"5","stop":[1]}`))
	f.Add([]byte(strings.Repeat("[", 200)))
	f.Add([]byte(`{"input":"x","response_format":` + strings.Repeat(`{"a":`, 130) + `1` + strings.Repeat("}", 130) + `}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		jr, req, e := decodeJobRequest(body, task.Limits{})
		if e != nil {
			if e.Status < 400 || e.Status > 499 || e.Message == "" {
				t.Fatalf("error %+v", e)
			}
			return
		}
		if err := req.Check(task.Limits{}); err != nil {
			t.Fatalf("accepted a request the router refuses: %v", err)
		}
		if s := req.Sampling; s != nil && reflect.DeepEqual(*s, task.Sampling{}) {
			t.Fatalf("accepted %q with an empty Sampling", body)
		}
		if len(jr.Metadata) > maxMetadataKeys {
			t.Fatalf("accepted %d metadata keys", len(jr.Metadata))
		}
	})
}

type fixedModels []registry.ModelState

func (m fixedModels) Models(context.Context) ([]registry.ModelState, error) { return m, nil }

type noRunner struct{}

func (noRunner) Handle(context.Context, task.Request, func(task.Event)) task.Response {
	return task.Response{}
}

// Whatever a webhook carries, it becomes a request the router accepts, or
// a 4xx.
func FuzzHookSpec(f *testing.F) {
	f.Add([]byte(`{"input":"x"}`))
	f.Add([]byte(`{"type":"a","data":{}}`))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte(strings.Repeat("[", 200)))
	f.Add([]byte(`{"event":` + strings.Repeat("[", 130) + strings.Repeat("]", 130) + `}`))
	s, err := New(Config{Runner: noRunner{}, Models: fixedModels{{Spec: task.ModelSpec{Name: "m", Capabilities: []string{"chat"}}}}})
	if err != nil {
		f.Fatal(err)
	}
	h := Hook{Name: "h", Model: ModelTaskrouter, Instruction: "Do:"}
	f.Fuzz(func(t *testing.T, body []byte) {
		spec, e := s.hookSpec(context.Background(), h, body)
		if e != nil {
			if e.Status < 400 || e.Status > 499 {
				t.Fatalf("error %+v", e)
			}
			return
		}
		if err := spec.Request.Check(task.Limits{}); err != nil {
			t.Fatalf("accepted %q, but the router refuses it: %v", body, err)
		}
		if input, _ := spec.Request.Text(); strings.TrimSpace(input) == "" {
			t.Fatalf("no input from %q", body)
		}
	})
}

// FuzzBearerToken: a token is found only after a Bearer scheme in any
// case, and comes back trimmed and non-empty.
func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"Bearer sk-1", "bearer sk-1", "BEARER\tsk-1", "Bearer", "Bearer  ", "Basic abc", "Bearersk", " bearer  x y "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		token, ok := bearerToken(header)
		if !ok {
			return
		}
		if token == "" || token != strings.TrimSpace(token) {
			t.Fatalf("bearerToken(%q) = %q", header, token)
		}
		if scheme := strings.TrimSpace(header)[:6]; !strings.EqualFold(scheme, "bearer") {
			t.Fatalf("bearerToken(%q) accepted scheme %q", header, scheme)
		}
	})
}

func FuzzDecodeRelayed(f *testing.F) {
	f.Add([]byte(`{"model":"e","input":["a","b"],"encoding_format":"base64"}`))
	f.Add([]byte(`{"model":"e","input":[[1,2],[3]],"dimensions":3}`))
	f.Add([]byte(`{"model":"c","prompt":"once","stream":true,"stream_options":{"include_usage":true},"logprobs":2}`))
	f.Add([]byte(`{"model":"c","prompt":[1,2,3],"stream":"yes"}`))
	f.Add([]byte(`{"model":"c","prompt":[],"input":{}}`))
	f.Add([]byte(`{"model":"c","prompt":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, ep := range []endpoint{embeddingsEndpoint, completionsEndpoint} {
			rq, e := ep.decode(body)
			if e != nil {
				if e.Status != http.StatusBadRequest || e.Code == nil || e.Message == "" {
					t.Fatalf("error %+v", e)
				}
				continue
			}
			if rq.model == "" || rq.stream && ep.api == task.APIEmbeddings {
				t.Fatalf("%s accepted %q as %+v", ep.api, body, rq)
			}
		}
	})
}
