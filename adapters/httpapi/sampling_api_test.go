package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/adapters/httpapi"
	"github.com/taskrouter/taskrouter/adapters/httpapi/jobs"
	"github.com/taskrouter/taskrouter/adapters/httpapi/kv"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/task"
)

// recordingRunner answers every request with "ok" and keeps what it ran.
type recordingRunner struct {
	mu   sync.Mutex
	reqs []task.Request
}

func (r *recordingRunner) Handle(_ context.Context, req task.Request, _ func(task.Event)) task.Response {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, req)
	return task.Response{ID: req.ID, Answer: "ok"}
}

func (r *recordingRunner) ran() []task.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]task.Request(nil), r.reqs...)
}

type oneModel string

func (m oneModel) Models(context.Context) ([]registry.ModelState, error) {
	return []registry.ModelState{{Spec: task.ModelSpec{Name: string(m), Capabilities: []string{"chat"}}}}, nil
}

// newRecordingServer is the HTTP server on loopback in front of a runner
// that records, with jobs.
func newRecordingServer(t *testing.T) (*env, *recordingRunner) {
	t.Helper()
	rec := &recordingRunner{}
	m, err := jobs.New(jobs.Config{Runner: rec, Store: kv.NewMemory(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = m.Close(ctx)
	})
	return serveOnLoopback(t, httpapi.Config{Runner: rec, Models: oneModel("m"), Jobs: m}), rec
}

// serveOnLoopback starts a server with cfg on a loopback port, shut down
// when the test ends.
func serveOnLoopback(t *testing.T, cfg httpapi.Config) *env {
	t.Helper()
	srv, err := httpapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	return &env{t: t, url: "http://" + addr.String()}
}

// samplingJSON is every generation setting, as a client sends them.
const samplingJSON = `"temperature":0,"top_p":0.9,"max_completion_tokens":128,"stop":["END"],"seed":42,` +
	`"presence_penalty":0.5,"frequency_penalty":-0.5,"response_format":{"type":"json_object"}`

func wantSampling() *task.Sampling {
	f := func(v float64) *float64 { return &v }
	seed := int64(42)
	return &task.Sampling{Temperature: f(0), TopP: f(0.9), MaxTokens: 128, Stop: []string{"END"}, Seed: &seed,
		PresencePenalty: f(0.5), FrequencyPenalty: f(-0.5), ResponseFormat: json.RawMessage(`{"type":"json_object"}`)}
}

func sameSampling(t *testing.T, what string, got, want *task.Sampling) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		t.Fatalf("%s: the runner got sampling %s, want %s", what, gj, wj)
	}
}

// The generation settings of a chat completion, streamed or not, and of a
// job reach the runner on the request; without any, Sampling stays nil.
func TestSamplingReachesTheRunner(t *testing.T) {
	e, rec := newRecordingServer(t)
	msgs := `"messages":[{"role":"user","content":"hi"}]`
	decode[completionObject](t, e.do("POST", "/v1/chat/completions", "", `{"model":"m",`+msgs+`,`+samplingJSON+`}`), 200)
	events := readSSE(t, e.do("POST", "/v1/chat/completions", "", `{"model":"taskrouter","stream":true,`+msgs+`,`+samplingJSON+`}`).Body)
	if len(events) == 0 || events[len(events)-1].data != "[DONE]" {
		t.Fatalf("stream = %+v", events)
	}
	decode[completionObject](t, e.do("POST", "/v1/chat/completions", "", `{"model":"m",`+msgs+`,"temperature":null,"user":"u"}`), 200)
	j := decode[jobView](t, e.do("POST", "/v1/jobs", "", `{"input":"hi","model":"m",`+samplingJSON+`}`), 202)
	if got := e.waitJob(j.ID, ""); got.Status != jobs.StatusDone {
		t.Fatalf("job = %+v", got)
	}
	reqs := rec.ran()
	if len(reqs) != 4 {
		t.Fatalf("the runner ran %d requests, want 4", len(reqs))
	}
	sameSampling(t, "chat", reqs[0].Sampling, wantSampling())
	sameSampling(t, "streamed chat", reqs[1].Sampling, wantSampling())
	sameSampling(t, "chat without settings", reqs[2].Sampling, nil)
	sameSampling(t, "job", reqs[3].Sampling, wantSampling())
}

// A bad setting is a 400 in OpenAI's shape, with the field as its param,
// and nothing runs.
func TestSamplingErrorAnswers(t *testing.T) {
	e, rec := newRecordingServer(t)
	cases := []struct {
		path, body, code, param string
	}{
		{"/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":"warm"}`, "invalid_type", "temperature"},
		{"/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}],"top_p":1.5}`, "invalid_value", "top_p"},
		{"/v1/chat/completions", `{"model":"taskrouter","stream":true,"messages":[{"role":"user","content":"hi"}],"stop":["a",2]}`, "invalid_type", "stop"},
		{"/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":8,"max_completion_tokens":9}`, "conflicting_max_tokens", "max_completion_tokens"},
		{"/v1/jobs", `{"input":"hi","seed":0.5}`, "invalid_type", "seed"},
		{"/v1/jobs", `{"input":"hi","response_format":{"type":"yaml"}}`, "invalid_value", "response_format"},
	}
	for _, c := range cases {
		got := wantError(t, e.do("POST", c.path, "", c.body), 400, c.code)
		if got.Error.Type != "invalid_request_error" || got.Error.Param == nil || *got.Error.Param != c.param {
			t.Fatalf("%s: error = %+v, want param %s", c.body, got.Error, c.param)
		}
	}
	if n := len(rec.ran()); n != 0 {
		t.Fatalf("the runner ran %d refused requests", n)
	}
}

// Through the router and an executor, the settings reach the model that
// writes the answer of a request routed straight to it, from a chat
// completion and from a job.
func TestSamplingReachesTheAnsweringModel(t *testing.T) {
	got := make(chan *task.Sampling, 2)
	capture := executors.Served{Spec: task.ModelSpec{Name: "m/capture", Backend: task.BackendLocal, Capabilities: []string{"chat"}, Concurrency: 2},
		Model: funcModel(func(_ context.Context, w task.Work, _ func(string)) (task.Output, error) {
			got <- w.Sampling
			return task.Output{Text: "ok"}, nil
		})}
	e := newEnv(t, envOptions{models: []executors.Served{capture}})
	decode[completionObject](t, e.do("POST", "/v1/chat/completions", "",
		`{"model":"m/capture","messages":[{"role":"user","content":"hi"}],`+samplingJSON+`}`), 200)
	sameSampling(t, "chat", <-got, wantSampling())
	j := decode[jobView](t, e.do("POST", "/v1/jobs", "", `{"input":"hi","model":"m/capture",`+samplingJSON+`}`), 202)
	if done := e.waitJob(j.ID, ""); done.Status != jobs.StatusDone {
		t.Fatalf("job = %+v", done)
	}
	sameSampling(t, "job", <-got, wantSampling())
}

// A chat client's settings reach the upstream of the model it names as it
// sent them, over the whole path (HTTP API, router, NATS, executor,
// OpenAI adapter), on the streamed and the unstreamed call.
func TestSamplingReachesTheUpstream(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, stream := range []bool{false, true} {
		body := chatBody("gpt-test", stream, "user", "hi")
		body["temperature"], body["max_tokens"], body["stop"], body["seed"] = 0, 7, "END", 42
		body["response_format"] = map[string]any{"type": "json_object"}
		resp := e.do("POST", "/v1/chat/completions", "", body)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stream %v: status %d", stream, resp.StatusCode)
		}
		rec, ok := e.upstream.Last("gpt-test")
		if !ok {
			t.Fatal("the upstream saw no request")
		}
		var got struct {
			Temperature    *float64        `json:"temperature"`
			MaxTokens      int             `json:"max_tokens"`
			Stop           string          `json:"stop"`
			Seed           *int            `json:"seed"`
			ResponseFormat json.RawMessage `json:"response_format"`
		}
		if err := json.Unmarshal(rec.Body, &got); err != nil {
			t.Fatal(err)
		}
		if got.Temperature == nil || *got.Temperature != 0 || got.MaxTokens != 7 || got.Stop != "END" ||
			got.Seed == nil || *got.Seed != 42 || string(got.ResponseFormat) != `{"type":"json_object"}` {
			t.Fatalf("stream %v: the upstream got %s", stream, rec.Body)
		}
	}
}
