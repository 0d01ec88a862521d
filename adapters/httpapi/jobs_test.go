package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/adapters/httpapi/jobs"
	"github.com/taskrouter/taskrouter/adapters/httpapi/kv"
	"github.com/taskrouter/taskrouter/adapters/httpapi/webhook"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/task"
)

// jobView is a job as the API shows it.
type jobView struct {
	ID       string              `json:"id"`
	Object   string              `json:"object"`
	Status   jobs.Status         `json:"status"`
	Model    string              `json:"model"`
	Source   string              `json:"source"`
	Plan     *task.Plan          `json:"plan"`
	Subtasks []task.SubtaskState `json:"subtasks"`
	Answer   string              `json:"answer"`
	Usage    task.Usage          `json:"usage"`
	Error    *task.Error         `json:"error"`
	Callback *jobs.Callback      `json:"callback"`
	Owner    string              `json:"owner"`
}

// waitJob polls a job until it reaches a final state.
func (e *env) waitJob(id, key string) jobView {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		j := decode[jobView](e.t, e.do("GET", "/v1/jobs/"+id, key, nil), 200)
		if j.Status.Final() {
			return j
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("job %s did not end", id)
	return jobView{}
}

func TestJobLifecycle(t *testing.T) {
	e := newEnv(t, envOptions{})
	j := decode[jobView](t, e.do("POST", "/v1/jobs", "", map[string]any{"input": "alpha and beta", "metadata": map[string]string{"ticket": "42"}}), 202)
	if !strings.HasPrefix(j.ID, "job_") || j.Object != "job" || j.Status != jobs.StatusQueued || j.Model != "taskrouter" || j.Source != "api" {
		t.Fatalf("accepted job = %+v", j)
	}
	done := e.waitJob(j.ID, "")
	if done.Status != jobs.StatusDone || done.Plan == nil || len(done.Plan.Tasks) != 2 || len(done.Subtasks) != 2 {
		t.Fatalf("job = %+v", done)
	}
	if !strings.Contains(done.Answer, reply) || done.Usage.CompletionTokens == 0 || done.Subtasks[0].Model != "gpt-test" {
		t.Fatalf("answer %q usage %+v subtasks %+v", done.Answer, done.Usage, done.Subtasks)
	}
}

func TestJobRequestErrors(t *testing.T) {
	e := newEnv(t, envOptions{})
	cases := []struct {
		body   any
		status int
		code   string
	}{
		{map[string]any{"input": "x", "model": "nope"}, 404, "model_not_found"},
		{map[string]any{"inputt": "x"}, 400, "invalid_json"},
		{map[string]any{}, 400, "invalid_request"},
		{map[string]any{"input": "x", "callback_url": "ftp://x"}, 400, "invalid_callback_url"},
		{map[string]any{"input": "x", "callback_url": "http://127.0.0.1:1/cb"}, 400, "callbacks_disabled"},
		{map[string]any{"input": "x", "planner": "psychic"}, 400, "invalid_request"},
	}
	for _, c := range cases {
		wantError(t, e.do("POST", "/v1/jobs", "", c.body), c.status, c.code)
	}
	wantError(t, e.do("GET", "/v1/jobs/job_doesnotexist", "", nil), 404, "job_not_found")
	wantError(t, e.do("GET", "/v1/jobs/..%2f..%2fetc", "", nil), 404, "job_not_found")
}

// DELETE cancels the job's context, and the router cancels the subtask at
// its executor.
func TestCancelJobStopsTheExecutor(t *testing.T) {
	cancelled := make(chan string, 4)
	long := executors.Served{Spec: task.ModelSpec{Name: "m/long", Backend: task.BackendLocal, Capabilities: []string{"chat"}, Concurrency: 2},
		Model: slow(time.Minute, cancelled)}
	e := newEnv(t, envOptions{models: []executors.Served{long}})
	j := decode[jobView](t, e.do("POST", "/v1/jobs", "", map[string]any{"input": "x", "model": "m/long"}), 202)
	for decode[jobView](t, e.do("GET", "/v1/jobs/"+j.ID, "", nil), 200).Status != jobs.StatusRunning {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // let the subtask reach the executor
	got := decode[jobView](t, e.do("DELETE", "/v1/jobs/"+j.ID, "", nil), 200)
	if got.Status != jobs.StatusCancelled || got.Error == nil || got.Error.Code != task.CodeCancelled {
		t.Fatalf("after DELETE: %+v", got)
	}
	select {
	case id := <-cancelled:
		if id != "t1" {
			t.Fatalf("cancelled subtask %s", id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the executor never saw the cancellation")
	}
	wantError(t, e.do("DELETE", "/v1/jobs/"+j.ID, "", nil), 409, "job_already_ended")
}

// A full queue refuses with 503 instead of accepting and dropping, and
// every accepted job ends.
func TestQueueFullRefusesAndStoresNothing(t *testing.T) {
	store := kv.NewMemory(time.Hour)
	e := newEnv(t, envOptions{jobsCfg: jobs.Config{Workers: 1, Queue: 2}, jobsKV: store})
	var accepted []string
	refused := 0
	for range 6 {
		resp := e.do("POST", "/v1/jobs", "", map[string]any{"input": "x", "model": "local/slow"})
		switch resp.StatusCode {
		case 202:
			accepted = append(accepted, decode[jobView](t, resp, 202).ID)
		case 503:
			if resp.Header.Get("Retry-After") == "" {
				t.Fatal("503 without Retry-After")
			}
			wantError(t, resp, 503, "queue_full")
			refused++
		default:
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if len(accepted) != 3 || refused != 3 || store.Len() != 3 {
		t.Fatalf("%d accepted, %d refused, %d stored; want 3, 3, 3", len(accepted), refused, store.Len())
	}
	for _, id := range accepted {
		if j := e.waitJob(id, ""); j.Status != jobs.StatusDone {
			t.Fatalf("job %s ended %s", id, j.Status)
		}
	}
}

func TestJobEventsStream(t *testing.T) {
	e := newEnv(t, envOptions{})
	j := decode[jobView](t, e.do("POST", "/v1/jobs", "", map[string]any{"input": "x", "model": "local/slow"}), 202)
	resp := e.do("GET", "/v1/jobs/"+j.ID+"/events", "", nil)
	events := readSSE(t, resp.Body)
	var names []string
	for _, ev := range events {
		names = append(names, ev.name)
	}
	got := strings.Join(names, ",")
	if !strings.HasPrefix(got, "job,") || !strings.HasSuffix(got, ",merged,job") || !strings.Contains(got, ",done,") {
		t.Fatalf("events = %s", got)
	}
	var last jobView
	if err := json.Unmarshal([]byte(events[len(events)-1].data), &last); err != nil || last.Status != jobs.StatusDone {
		t.Fatalf("last event = %s (%v)", events[len(events)-1].data, err)
	}
	// A finished job's stream is its state, at once.
	events = readSSE(t, e.do("GET", "/v1/jobs/"+j.ID+"/events", "", nil).Body)
	if len(events) != 1 || events[0].name != "job" {
		t.Fatalf("events of a finished job = %+v", events)
	}
}

// Two routers on one NATS share the jobs bucket: either answers for a job,
// and a DELETE at one cancels the job the other runs.
func TestJobsSharedAcrossRouters(t *testing.T) {
	a := newEnv(t, envOptions{})
	store := func(b *env) kv.Store {
		js, err := kv.OpenJetStream(context.Background(), b.connect("kv"), "test_jobs", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return js
	}
	cancelled := make(chan string, 1)
	started := make(chan struct{}, 1)
	long := executors.Served{Spec: task.ModelSpec{Name: "m/long", Backend: task.BackendLocal, Capabilities: []string{"chat"}, Concurrency: 2},
		Model: funcModel(func(ctx context.Context, w task.Work, p func(string)) (task.Output, error) {
			started <- struct{}{}
			return slow(time.Minute, cancelled)(ctx, w, p)
		})}
	r1 := newEnv(t, envOptions{bus: a.bus, jobsKV: store(a), models: []executors.Served{long}})
	r2 := newEnv(t, envOptions{bus: a.bus, jobsKV: store(a)})
	j := decode[jobView](t, r1.do("POST", "/v1/jobs", "", map[string]any{"input": "x", "model": "m/long"}), 202)
	<-started // the subtask is at the executor, so cancelling must reach it there
	if st := decode[jobView](t, r2.do("GET", "/v1/jobs/"+j.ID, "", nil), 200).Status; st != jobs.StatusRunning {
		t.Fatalf("the other router sees the job %s, want running", st)
	}
	got := decode[jobView](t, r2.do("DELETE", "/v1/jobs/"+j.ID, "", nil), 200)
	if got.Status != jobs.StatusCancelled {
		t.Fatalf("after DELETE at the other router: %s", got.Status)
	}
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the executor never saw the cancellation")
	}
}

// callbackSink is a receiver that verifies signatures and fails the first
// few deliveries.
type callbackSink struct {
	mu       sync.Mutex
	failFor  int
	calls    int
	verified []string // webhook-ids of correctly signed bodies
	bodies   [][]byte
}

func (c *callbackSink) handler(v webhook.Verifier) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		defer c.mu.Unlock()
		c.calls++
		if c.calls <= c.failFor {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		msg, err := v.Verify(r.Header, body, time.Now())
		if err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		c.verified = append(c.verified, msg.ID)
		c.bodies = append(c.bodies, body)
	}
}

func TestCallbackRetriedUntilDelivered(t *testing.T) {
	secret, _ := webhook.ParseSecret("whsec_" + strings.Repeat("c2VjcmV0", 4))
	sink := &callbackSink{failFor: 2}
	receiver := httptest.NewServer(sink.handler(webhook.Verifier{Secrets: []webhook.Secret{secret}}))
	t.Cleanup(receiver.Close)
	e := newEnv(t, envOptions{jobsCfg: jobs.Config{Callbacks: jobs.CallbackConfig{Secret: secret, InitialBackoff: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}}})
	j := decode[jobView](t, e.do("POST", "/v1/jobs", "", map[string]any{"input": "x", "model": "gpt-test", "callback_url": receiver.URL + "/cb"}), 202)
	if j.Callback == nil || j.Callback.State != jobs.DeliveryPending || j.Callback.URL != receiver.URL+"/cb" {
		t.Fatalf("callback = %+v", j.Callback)
	}
	var got jobView
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		got = decode[jobView](t, e.do("GET", "/v1/jobs/"+j.ID, "", nil), 200)
		if got.Callback.State != jobs.DeliveryPending {
			break
		}
	}
	cb := got.Callback
	if cb.State != jobs.DeliveryDelivered || cb.Attempts != 3 || cb.LastStatus != 200 || cb.DeliveredAt.IsZero() || !cb.NextAttemptAt.IsZero() {
		t.Fatalf("delivery = %+v", cb)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.verified) != 1 || sink.verified[0] != j.ID {
		t.Fatalf("verified deliveries = %v", sink.verified)
	}
	var payload struct {
		Type string  `json:"type"`
		Data jobView `json:"data"`
	}
	if err := json.Unmarshal(sink.bodies[0], &payload); err != nil || payload.Type != "job.done" || payload.Data.Answer != reply {
		t.Fatalf("payload = %s (%v)", sink.bodies[0], err)
	}
}

func TestCallbackGivesUp(t *testing.T) {
	secret, _ := webhook.ParseSecret("whsec_" + strings.Repeat("c2VjcmV0", 4))
	sink := &callbackSink{failFor: 1000}
	receiver := httptest.NewServer(sink.handler(webhook.Verifier{Secrets: []webhook.Secret{secret}}))
	t.Cleanup(receiver.Close)
	e := newEnv(t, envOptions{jobsCfg: jobs.Config{Callbacks: jobs.CallbackConfig{Secret: secret, MaxAttempts: 3, InitialBackoff: 10 * time.Millisecond, AllowPrivate: true}}})
	j := decode[jobView](t, e.do("POST", "/v1/jobs", "", map[string]any{"input": "x", "model": "gpt-test", "callback_url": receiver.URL}), 202)
	var got jobView
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got = decode[jobView](t, e.do("GET", "/v1/jobs/"+j.ID, "", nil), 200); got.Callback.State == jobs.DeliveryFailed {
			break
		}
	}
	if got.Callback.State != jobs.DeliveryFailed || got.Callback.Attempts != 3 || got.Callback.LastStatus != 500 || got.Callback.LastError == "" {
		t.Fatalf("delivery = %+v", got.Callback)
	}
}
