package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/adapters/httpapi"
	"github.com/taskrouter/taskrouter/adapters/httpapi/jobs"
	"github.com/taskrouter/taskrouter/adapters/httpapi/kv"
	"github.com/taskrouter/taskrouter/adapters/openai"
	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/memory"
	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/task"
)

// funcModel is a model whose behaviour a test writes.
type funcModel func(ctx context.Context, w task.Work, progress func(string)) (task.Output, error)

func (f funcModel) Generate(ctx context.Context, w task.Work, progress func(string)) (task.Output, error) {
	return f(ctx, w, progress)
}

// slow answers "<capability>(<input>)" after delay, or fails when ctx ends;
// cancelled, when not nil, receives the subtask id of every cancellation.
func slow(delay time.Duration, cancelled chan<- string) funcModel {
	return func(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
		select {
		case <-time.After(delay):
			return task.Output{Text: w.Capability + "(" + w.Input + ")", Usage: task.Usage{PromptTokens: 3, CompletionTokens: 2}}, nil
		case <-ctx.Done():
			if cancelled != nil {
				cancelled <- w.SubtaskID
			}
			return task.Output{}, ctx.Err()
		}
	}
}

// splitPlanner plans "a and b" as one subtask per part, capability "chat".
type splitPlanner struct{}

func (splitPlanner) Plan(_ context.Context, req task.Request) (task.Plan, error) {
	input, _ := req.Text()
	var p task.Plan
	for i, part := range strings.Split(input, " and ") {
		p.Tasks = append(p.Tasks, task.Subtask{ID: "t" + string(rune('1'+i)), Capability: "chat", Input: part, Deps: []string{}})
	}
	return p, nil
}

// env is a real pipeline: embedded NATS, memory registry, executors, the
// router, a jobs manager and the HTTP server on loopback.
type env struct {
	t        testing.TB
	bus      *bus.Bus
	reg      *registry.Memory
	router   *router.Router
	upstream *openaitest.Server
	jobs     *jobs.Manager
	srv      *httpapi.Server
	url      string
}

// reply is what the OpenAI-compatible upstream answers model "gpt-test".
const reply = "The quick brown fox jumps over the lazy dog."

type envOptions struct {
	cfg     httpapi.Config
	jobsCfg jobs.Config
	models  []executors.Served
	bus     *bus.Bus // share another env's NATS
	jobsKV  kv.Store
	// memory, when set, keeps conversations for the router and the API.
	memory *memory.Memory
	// planner plans for the router (default splitPlanner).
	planner router.Planner
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, bus: o.bus, reg: registry.NewMemory()}
	if e.bus == nil {
		b, err := bus.Start(ctx, bus.Config{Name: t.Name()})
		if err != nil {
			t.Fatalf("starting bus: %v", err)
		}
		t.Cleanup(func() { _ = b.Close() })
		e.bus = b
	}
	e.upstream = openaitest.New()
	t.Cleanup(e.upstream.Close)
	e.upstream.Script("gpt-test", openaitest.Behaviour{Reply: reply, TokenDelay: time.Millisecond})
	gpt, err := openai.New(task.ModelSpec{Name: "gpt-test", Backend: task.BackendOpenAI, BaseURL: e.upstream.URL(), Capabilities: []string{"chat"}}, "sk-test")
	if err != nil {
		t.Fatal(err)
	}
	served := append([]executors.Served{
		{Spec: task.ModelSpec{Name: "gpt-test", Backend: task.BackendOpenAI, BaseURL: e.upstream.URL(), Capabilities: []string{"chat"}, Concurrency: 64}, Model: gpt},
		{Spec: task.ModelSpec{Name: "local/slow", Backend: task.BackendLocal, Capabilities: []string{"summarize"}, Concurrency: 8}, Model: slow(150*time.Millisecond, nil)},
	}, o.models...)
	nc := e.connect("executor")
	ex, err := executors.Start(ctx, nc, executors.Config{ID: "x-" + t.Name(), Models: served, Announcer: e.reg,
		Heartbeat: 200 * time.Millisecond, KeepAlive: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ex.Stop)
	rc := router.Config{AcceptTimeout: 2 * time.Second}
	if o.memory != nil {
		rc.Memory, o.cfg.Conversations = o.memory, o.memory
	}
	if o.cfg.Console != nil {
		rc.Observe = o.cfg.Console.Observe
	}
	var pl router.Planner = splitPlanner{}
	if o.planner != nil {
		pl = o.planner
	}
	e.router, err = router.New(e.connect("router"), e.reg, pl, rc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.router.Close() })
	e.startJobs(o)
	e.startHTTP(o.cfg)
	return e
}

func (e *env) connect(name string) *nats.Conn {
	nc, err := e.bus.Connect(name)
	if err != nil {
		e.t.Fatal(err)
	}
	return nc
}

func (e *env) startJobs(o envOptions) {
	jc := o.jobsCfg
	jc.Runner, jc.Planner = e.router, splitPlanner{}
	if jc.Store = o.jobsKV; jc.Store == nil {
		jc.Store = kv.NewMemory(time.Hour)
	}
	if jc.Feed == nil {
		feed := jobs.NewNATSFeed(e.connect("jobs"))
		jc.Feed, jc.Broadcast = feed, feed
	}
	m, err := jobs.New(jc)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = m.Close(ctx)
	})
	e.jobs = m
}

func (e *env) startHTTP(cfg httpapi.Config) {
	cfg.Runner, cfg.Models, cfg.Jobs = e.router, e.reg, e.jobs
	srv, err := httpapi.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	addr, err := srv.Start("127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	e.srv, e.url = srv, "http://"+addr.String()
}

// do sends a request with an optional JSON body and bearer key.
func (e *env) do(method, path, key string, body any) *http.Response {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		data, _ := json.Marshal(b)
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.url+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// decode reads a JSON answer, failing on another status.
func decode[T any](t testing.TB, resp *http.Response, status int) T {
	t.Helper()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, data)
	}
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("decoding %s: %v", data, err)
	}
	return v
}

// apiErr is OpenAI's error answer.
type apiErr struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

func wantError(t *testing.T, resp *http.Response, status int, code string) apiErr {
	t.Helper()
	e := decode[apiErr](t, resp, status)
	if e.Error.Code == nil || *e.Error.Code != code || e.Error.Message == "" || e.Error.Type == "" {
		t.Fatalf("error = %+v, want code %q", e.Error, code)
	}
	return e
}

// sseEvent is one server-sent event.
type sseEvent struct {
	name, data string
	comment    bool
}

// readSSE reads events until the stream ends.
func readSSE(t *testing.T, r io.Reader) []sseEvent {
	t.Helper()
	var out []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur != (sseEvent{}) {
				out = append(out, cur)
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, ":"):
			out = append(out, sseEvent{comment: true, data: strings.TrimSpace(line[1:])})
		case strings.HasPrefix(line, "event: "):
			cur.name = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			cur.data += line[len("data: "):]
		}
	}
	return out
}

// openaitestSlowReply answers in about 400ms, a token every 40ms.
func openaitestSlowReply() openaitest.Behaviour {
	return openaitest.Behaviour{Reply: "one two three four five six seven eight nine ten", TokenDelay: 40 * time.Millisecond}
}

func readAll(resp *http.Response) string {
	data, _ := io.ReadAll(resp.Body)
	return string(data)
}

func envOr(name string) string { return os.Getenv(name) }

type nilRunner struct{}

func (nilRunner) Handle(context.Context, task.Request, func(task.Event)) task.Response {
	return task.Response{}
}

type nilModels struct{}

func (nilModels) Models(context.Context) ([]registry.ModelState, error) { return nil, nil }
