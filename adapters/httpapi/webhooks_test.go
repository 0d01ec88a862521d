package httpapi_test

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/adapters/httpapi"
	"github.com/taskrouter/taskrouter/adapters/httpapi/jobs"
	"github.com/taskrouter/taskrouter/adapters/httpapi/kv"
	"github.com/taskrouter/taskrouter/adapters/httpapi/webhook"
)

// The Standard Webhooks spec's published example secret.
const hookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func hookEnv(t *testing.T) (*env, webhook.Secret, *kv.Memory) {
	t.Helper()
	secret, err := webhook.ParseSecret(hookSecret)
	if err != nil {
		t.Fatal(err)
	}
	store := kv.NewMemory(time.Hour)
	e := newEnv(t, envOptions{jobsKV: store, cfg: httpapi.Config{
		APIKeys: []string{"api-key"}, // webhooks need none: they are signed
		Hooks: []httpapi.Hook{
			{Name: "default", Verifier: webhook.Verifier{Secrets: []webhook.Secret{secret}}},
			{Name: "issues", Verifier: webhook.Verifier{Secrets: []webhook.Secret{secret}}, Instruction: "Summarize this event:", Model: "local/slow"},
		},
	}})
	return e, secret, store
}

func postHook(t *testing.T, e *env, name string, h http.Header, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", e.url+"/v1/webhooks/"+name, bytes.NewReader([]byte(body)))
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func signed(s webhook.Secret, id string, at time.Time, body string) http.Header {
	h := http.Header{}
	s.SetHeaders(h, id, at, []byte(body))
	return h
}

type hookReply struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	Duplicate bool   `json:"duplicate"`
}

func TestWebhookCreatesJobOnce(t *testing.T) {
	e, secret, store := hookEnv(t)
	body := `{"input": "hello from a webhook", "model": "gpt-test"}`
	h := signed(secret, "msg_1", time.Now(), body)
	first := decode[hookReply](t, postHook(t, e, "default", h, body), 202)
	if !strings.HasPrefix(first.ID, "job_") || first.Status != "queued" {
		t.Fatalf("reply = %+v", first)
	}
	// A replay, even re-signed later as a sender's retry is, gets the same job.
	again := decode[hookReply](t, postHook(t, e, "default", signed(secret, "msg_1", time.Now().Add(time.Minute), body), body), 200)
	if again.ID != first.ID || !again.Duplicate {
		t.Fatalf("replay = %+v, want job %s", again, first.ID)
	}
	j := e.waitJob(first.ID, "api-key")
	if j.Status != jobs.StatusDone || j.Answer != reply || j.Source != "webhook:default" {
		t.Fatalf("job = %+v", j)
	}
	if store.Len() != 1 {
		t.Fatalf("%d jobs stored, want 1", store.Len())
	}
}

// Concurrent deliveries of one webhook-id create one job.
func TestWebhookConcurrentReplays(t *testing.T) {
	e, secret, store := hookEnv(t)
	body := `{"input": "x", "model": "gpt-test"}`
	h := signed(secret, "msg_race", time.Now(), body)
	var wg sync.WaitGroup
	ids := make(chan string, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := postHook(t, e, "default", h, body)
			switch resp.StatusCode {
			case 200, 202:
				ids <- decode[hookReply](t, resp, resp.StatusCode).ID
			case 409: // the first delivery is still being submitted
			default:
				t.Errorf("status %d", resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) != 1 || store.Len() != 1 {
		t.Fatalf("job ids %v, %d stored; want one job", seen, store.Len())
	}
}

func TestWebhookRejectsBadSignatures(t *testing.T) {
	e, secret, store := hookEnv(t)
	other, _ := webhook.ParseSecret("whsec_" + strings.Repeat("QUJD", 8))
	body := `{"input": "x"}`
	now := time.Now()
	stale := signed(secret, "msg_old", now.Add(-6*time.Minute), body)
	tampered := signed(secret, "msg_t", now, body)
	noSig := signed(secret, "msg_n", now, body)
	noSig.Del("webhook-signature")
	badTS := signed(secret, "msg_b", now, body)
	badTS.Set("webhook-timestamp", "yesterday")
	cases := []struct {
		name string
		h    http.Header
		body string
	}{
		{"wrong secret", signed(other, "msg_w", now, body), body},
		{"tampered body", tampered, `{"input": "y"}`},
		{"too old", stale, body},
		{"no signature", noSig, body},
		{"bad timestamp", badTS, body},
		{"no headers", http.Header{}, body},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, postHook(t, e, "default", c.h, c.body), 401, "invalid_signature")
		})
	}
	if store.Len() != 0 || e.jobs.Pending() != 0 {
		t.Fatalf("bad signatures created %d jobs", store.Len())
	}
	// A bad signature does not burn the id: the real delivery still works.
	decode[hookReply](t, postHook(t, e, "default", signed(secret, "msg_t", now, body), body), 202)
	wantError(t, postHook(t, e, "nope", signed(secret, "msg_x", now, body), body), 404, "webhook_not_found")
}

// An event payload becomes the input after the hook's instruction.
func TestWebhookEventPayload(t *testing.T) {
	e, secret, _ := hookEnv(t)
	body := `{"type":"issue.opened","data":{"title":"Crash on start"}}`
	r := decode[hookReply](t, postHook(t, e, "issues", signed(secret, "msg_ev", time.Now(), body), body), 202)
	j := e.waitJob(r.ID, "api-key")
	want := "summarize(Summarize this event:\n\n" + body + ")"
	if j.Status != jobs.StatusDone || j.Answer != want || j.Model != "local/slow" {
		t.Fatalf("job %s: %q, want %q", j.Status, j.Answer, want)
	}
	wantError(t, postHook(t, e, "issues", signed(secret, "msg_nj", time.Now(), "not json"), "not json"), 400, "invalid_payload")
}

func TestWebhookConfigErrors(t *testing.T) {
	secret, _ := webhook.ParseSecret(hookSecret)
	v := webhook.Verifier{Secrets: []webhook.Secret{secret}}
	for _, hooks := range [][]httpapi.Hook{
		{{Name: "a b", Verifier: v}},
		{{Name: "a", Verifier: v}, {Name: "a", Verifier: v}},
		{{Name: "a"}},
	} {
		if _, err := httpapi.New(httpapi.Config{Runner: nilRunner{}, Models: nilModels{}, Hooks: hooks}); err == nil {
			t.Errorf("hooks %+v accepted", hooks)
		}
	}
}
