package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/adapters/httpapi"
	"github.com/taskrouter/taskrouter/adapters/httpapi/console"
	"github.com/taskrouter/taskrouter/adapters/httpapi/webhook"
	"github.com/taskrouter/taskrouter/task"
)

func consoleEnv(t *testing.T, keys ...string) *env {
	t.Helper()
	secret, err := webhook.ParseSecret(hookSecret)
	if err != nil {
		t.Fatal(err)
	}
	return newEnv(t, envOptions{cfg: httpapi.Config{APIKeys: keys, Console: console.New(console.Config{}),
		Hooks: []httpapi.Hook{{Name: "default", Verifier: webhook.Verifier{Secrets: []webhook.Secret{secret}}}}}})
}

// consoleRequest waits until the console shows request id finished, and
// returns it.
func consoleRequest(t *testing.T, e *env, key, id string) console.Request {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp := e.do("GET", "/v1/console/requests/"+id, key, nil)
		if resp.StatusCode == 200 {
			r := decode[console.Request](t, resp, 200)
			if r.Status != "running" {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("request %s did not finish in the console (last status %d)", id, resp.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestConsoleDataNeedsTheKeyAndThePageDoesNot(t *testing.T) {
	e := consoleEnv(t, "k1")
	for _, path := range []string{"/v1/console/requests", "/v1/console/requests/req_x", "/v1/console/models", "/v1/console/events"} {
		wantError(t, e.do("GET", path, "", nil), 401, "missing_api_key")
		wantError(t, e.do("GET", path, "wrong", nil), 401, "invalid_api_key")
	}
	page := e.do("GET", "/console?request=req_x", "", nil)
	body := readAll(page)
	if page.StatusCode != 200 || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(body, "console.js") || !strings.Contains(page.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("page: %d %v %.200s", page.StatusCode, page.Header, body)
	}
	for path, ctype := range map[string]string{"/console/console.js": "text/javascript", "/console/console.css": "text/css"} {
		if r := e.do("GET", path, "", nil); r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), ctype) {
			t.Fatalf("%s: %d %s", path, r.StatusCode, r.Header.Get("Content-Type"))
		}
	}
	list := decode[struct {
		Object string            `json:"object"`
		Data   []console.Summary `json:"data"`
	}](t, e.do("GET", "/v1/console/requests", "k1", nil), 200)
	if list.Object != "list" || list.Data == nil {
		t.Fatalf("list = %+v", list)
	}
	wantError(t, e.do("GET", "/v1/console/requests/req_x", "k1", nil), 404, "request_not_found")
}

// A chat completion, a job and a webhook each show in the console with
// their ingress, their plan's steps, every attempt's times in order, and
// each step's input and output.
func TestConsoleShowsEachRequestWithItsIngressAndSteps(t *testing.T) {
	e := consoleEnv(t)
	chat := e.do("POST", "/v1/chat/completions", "", map[string]any{"model": "taskrouter",
		"messages": []map[string]string{{"role": "user", "content": "first part and second part"}}})
	if chat.StatusCode != 200 {
		t.Fatalf("chat: %d %s", chat.StatusCode, readAll(chat))
	}
	r := consoleRequest(t, e, "", chat.Header.Get("X-Request-Id"))
	// Two steps of the plan, and gpt-test writing the answer from them.
	if r.Ingress != task.IngressHTTP || r.Status != "done" || r.Input != "first part and second part" || len(r.Steps) != 3 ||
		r.PlanMs == nil || r.Merge != "model" || r.Answer != reply {
		t.Fatalf("request = %+v", r)
	}
	if m := r.Steps[2]; m.ID != "merge" || strings.Join(m.Deps, ",") != "t1,t2" || !strings.Contains(m.Input, "### t2") {
		t.Fatalf("merge step = %+v", m)
	}
	for i, st := range r.Steps {
		want := []string{"first part", "second part", "User request:\nfirst part and second part"}[i]
		if st.Status != "done" || !strings.HasPrefix(st.Input, want) || st.Output != reply || st.Model != "gpt-test" || st.Capability != "chat" || len(st.Attempts) != 1 {
			t.Fatalf("step %d = %+v", i, st)
		}
		a := st.Attempts[0]
		if a.Status != "done" || a.AcceptedMs == nil || a.EndedMs == nil || a.DispatchedMs < *r.PlanMs ||
			*a.AcceptedMs < a.DispatchedMs || *a.EndedMs < *a.AcceptedMs || *a.EndedMs > r.DurationMs {
			t.Fatalf("step %d's attempt = %+v (plan at %v, request %vms)", i, a, *r.PlanMs, r.DurationMs)
		}
	}
	job := decode[struct{ ID string }](t, e.do("POST", "/v1/jobs", "", map[string]any{"input": "a job"}), 202)
	if r := consoleRequest(t, e, "", job.ID); r.Ingress != task.IngressJob || r.Status != "done" {
		t.Fatalf("job's request = %+v", r)
	}
	secret, _ := webhook.ParseSecret(hookSecret)
	body := `{"input": "a webhook's request"}`
	hook := decode[hookReply](t, postHook(t, e, "default", signed(secret, "msg_console", time.Now(), body), body), 202)
	if r := consoleRequest(t, e, "", hook.ID); r.Ingress != task.IngressWebhook || r.Status != "done" {
		t.Fatalf("webhook's request = %+v", r)
	}
	ids := map[string]bool{}
	for _, s := range decode[struct{ Data []console.Summary }](t, e.do("GET", "/v1/console/requests", "", nil), 200).Data {
		ids[s.ID] = true
	}
	if !ids[r.ID] || !ids[job.ID] || !ids[hook.ID] {
		t.Fatalf("the list has %v", ids)
	}
}

func TestConsoleModelsShowReplicasCircuitAndCost(t *testing.T) {
	e := consoleEnv(t)
	chat := e.do("POST", "/v1/chat/completions", "", map[string]any{"model": "gpt-test",
		"messages": []map[string]string{{"role": "user", "content": "hi"}}})
	consoleRequest(t, e, "", chat.Header.Get("X-Request-Id"))
	var models struct {
		Object string `json:"object"`
		Data   []struct {
			Name     string `json:"name"`
			Replicas []struct {
				ID string `json:"id"`
			} `json:"replicas"`
			InFlight int                 `json:"in_flight"`
			State    string              `json:"state"`
			Circuit  string              `json:"circuit"`
			Totals   console.ModelTotals `json:"totals"`
		} `json:"data"`
	}
	models = decode[struct {
		Object string `json:"object"`
		Data   []struct {
			Name     string `json:"name"`
			Replicas []struct {
				ID string `json:"id"`
			} `json:"replicas"`
			InFlight int                 `json:"in_flight"`
			State    string              `json:"state"`
			Circuit  string              `json:"circuit"`
			Totals   console.ModelTotals `json:"totals"`
		} `json:"data"`
	}](t, e.do("GET", "/v1/console/models", "", nil), 200)
	found := false
	for _, m := range models.Data {
		if m.Name != "gpt-test" {
			continue
		}
		found = true
		if len(m.Replicas) != 1 || m.State != "ready" || m.Circuit != "closed" || m.Totals.Subtasks != 1 || m.Totals.CompletionTokens == 0 {
			t.Fatalf("gpt-test = %+v", m)
		}
	}
	if !found || models.Object != "list" {
		t.Fatalf("models = %+v", models)
	}
}

// The events stream starts with the list, then sends each request that
// changes, until it is done.
func TestConsoleEventsStreamRequestsLive(t *testing.T) {
	e := consoleEnv(t, "k1")
	req, _ := http.NewRequest("GET", e.url+"/v1/console/events", nil)
	req.Header.Set("Authorization", "Bearer k1")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	stream, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	if stream.StatusCode != 200 || stream.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" {
		t.Fatalf("stream: %d %v", stream.StatusCode, stream.Header)
	}
	events := sseEvents(stream)
	if first := <-events; first.name != "requests" || !strings.Contains(first.data, `"object":"list"`) {
		t.Fatalf("first event = %+v", first)
	}
	chat := e.do("POST", "/v1/chat/completions", "k1", map[string]any{"model": "taskrouter",
		"messages": []map[string]string{{"role": "user", "content": "one and two"}}})
	id := chat.Header.Get("X-Request-Id")
	for ev := range events {
		var s console.Summary
		if ev.name != "request" || json.Unmarshal([]byte(ev.data), &s) != nil || s.ID != id {
			continue
		}
		if s.Status == "done" {
			if s.Done != 3 || s.Subtasks != 3 || s.Ingress != task.IngressHTTP { // the merge step too
				t.Fatalf("summary = %+v", s)
			}
			return
		}
	}
	t.Fatal("the stream ended before the request was done")
}

// sseEvents reads server-sent events as they come.
func sseEvents(resp *http.Response) <-chan sseEvent {
	out := make(chan sseEvent, 64)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var cur sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "" && cur.name != "":
				out <- cur
				cur = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				cur.name = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				cur.data += line[len("data: "):]
			}
		}
	}()
	return out
}

// An open console must not hold up a shutdown: its stream never goes
// idle, so the server ends it.
func TestShutdownEndsConsoleStreams(t *testing.T) {
	e := consoleEnv(t)
	stream := e.do("GET", "/v1/console/events", "", nil)
	events := sseEvents(stream)
	<-events
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with a console open: %v", err)
	}
	for range events {
	}
}

func TestConsoleOffAnswersWhereToTurnItOn(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, path := range []string{"/console", "/v1/console/requests"} {
		if r := wantError(t, e.do("GET", path, "", nil), 404, "console_disabled"); !strings.Contains(r.Error.Message, "http.console.enabled") {
			t.Fatalf("%s: %s", path, r.Error.Message)
		}
	}
}
