package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/adapters/httpapi"
	"github.com/taskrouter/taskrouter/adapters/httpapi/jobs"
	"github.com/taskrouter/taskrouter/adapters/httpapi/webhook"
)

// A callback_url that could only lead where callbacks may not go is
// refused when the job is created, through the API and through webhooks
// alike, with a 400 that says what to fix; nothing is accepted.
func TestCallbackURLRefusedAtCreation(t *testing.T) {
	secret, _ := webhook.ParseSecret(hookSecret)
	e := newEnv(t, envOptions{jobsCfg: jobs.Config{Callbacks: jobs.CallbackConfig{Secret: secret}},
		cfg: httpapi.Config{Hooks: []httpapi.Hook{{Name: "default", Verifier: webhook.Verifier{Secrets: []webhook.Secret{secret}}}}}})
	cases := []struct{ url, mention string }{
		{"http://127.0.0.1:8080/cb", "127.0.0.1, a loopback address"},
		{"http://[::ffff:127.0.0.1]/cb", "loopback"},
		{"http://169.254.169.254/latest/meta-data/", "link-local"},
		{"http://10.0.0.7/cb", "private"},
		{"http://100.64.0.1/cb", "carrier-grade NAT"},
		{"https://user:secret@example.com/cb", "credentials"},
		{"http://2130706433/cb", "four decimal numbers"},
	}
	for i, c := range cases {
		body, _ := json.Marshal(map[string]any{"input": "x", "model": "gpt-test", "callback_url": c.url})
		api := wantError(t, e.do("POST", "/v1/jobs", "", string(body)), 400, "invalid_callback_url")
		hook := wantError(t, postHook(t, e, "default", signed(secret, fmt.Sprint("msg_", i), time.Now(), string(body)), string(body)), 400, "invalid_callback_url")
		for _, got := range []apiErr{api, hook} {
			if got.Error.Param == nil || *got.Error.Param != "callback_url" || !strings.Contains(got.Error.Message, c.mention) {
				t.Errorf("%s: error %+v does not name callback_url and mention %q", c.url, got.Error, c.mention)
			}
		}
	}
	if n := e.jobs.Pending(); n != 0 {
		t.Fatalf("%d jobs accepted", n)
	}
}

// A delivery that would connect to loopback fails at once by default, and
// the job says why; the receiver never hears of it.
func TestCallbackToLoopbackRefusedOnDelivery(t *testing.T) {
	secret, _ := webhook.ParseSecret(hookSecret)
	sink := &callbackSink{}
	receiver := httptest.NewServer(sink.handler(webhook.Verifier{Secrets: []webhook.Secret{secret}}))
	t.Cleanup(receiver.Close)
	u, _ := url.Parse(receiver.URL)
	e := newEnv(t, envOptions{jobsCfg: jobs.Config{Callbacks: jobs.CallbackConfig{Secret: secret, InitialBackoff: 10 * time.Millisecond}}})
	j := decode[jobView](t, e.do("POST", "/v1/jobs", "", map[string]any{"input": "x", "model": "gpt-test", "callback_url": "http://localhost:" + u.Port() + "/cb"}), 202)
	var got jobView
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got = decode[jobView](t, e.do("GET", "/v1/jobs/"+j.ID, "", nil), 200); got.Callback.State != jobs.DeliveryPending {
			break
		}
	}
	if cb := got.Callback; cb.State != jobs.DeliveryFailed || cb.Attempts != 1 || !strings.Contains(cb.LastError, "loopback") {
		t.Fatalf("delivery = %+v", cb)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if sink.calls != 0 {
		t.Fatalf("the receiver was reached %d times", sink.calls)
	}
}

// The signed callback carries the job as GET /v1/jobs/{id} shows it (but
// for the state of the delivery itself): no owner, no router bookkeeping.
func TestCallbackBodyIsTheJobAsTheAPIShowsIt(t *testing.T) {
	secret, _ := webhook.ParseSecret(hookSecret)
	sink := &callbackSink{}
	receiver := httptest.NewServer(sink.handler(webhook.Verifier{Secrets: []webhook.Secret{secret}}))
	t.Cleanup(receiver.Close)
	e := newEnv(t, envOptions{cfg: httpapi.Config{APIKeys: []string{"key-a"}},
		jobsCfg: jobs.Config{Callbacks: jobs.CallbackConfig{Secret: secret, AllowPrivate: true}}})
	j := decode[jobView](t, e.do("POST", "/v1/jobs", "key-a", map[string]any{"input": "x", "model": "gpt-test", "callback_url": receiver.URL + "/cb"}), 202)
	var body []byte
	for deadline := time.Now().Add(10 * time.Second); body == nil && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		sink.mu.Lock()
		if len(sink.bodies) > 0 {
			body = sink.bodies[0]
		}
		sink.mu.Unlock()
	}
	if body == nil {
		t.Fatal("no callback arrived")
	}
	var delivered struct {
		Type string         `json:"type"`
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(body, &delivered); err != nil || delivered.Type != "job.done" {
		t.Fatalf("callback %s: %v", body, err)
	}
	var shown map[string]any
	if err := json.Unmarshal([]byte(readAll(e.do("GET", "/v1/jobs/"+j.ID, "key-a", nil))), &shown); err != nil {
		t.Fatal(err)
	}
	for _, internal := range []string{"owner", "instance", "lease", "lease_expires"} {
		if _, ok := delivered.Data[internal]; ok {
			t.Errorf("the callback shows %q: %s", internal, body)
		}
		if _, ok := shown[internal]; ok {
			t.Errorf("GET /v1/jobs/{id} shows %q", internal)
		}
	}
	delete(shown, "callback")
	if !reflect.DeepEqual(delivered.Data, shown) {
		t.Errorf("the callback's job differs from the API's:\ncallback %v\nAPI      %v", delivered.Data, shown)
	}
}
