package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// newRegistryFunc makes a fresh, empty registry for one test; the factory
// closes it when the test ends.
type newRegistryFunc func(t *testing.T, opts ...Option) Registry

// Timings of the conformance suite: real time, since a Redis server's clock
// cannot be faked, short enough to keep the suite quick.
const (
	ctCooldown = 300 * time.Millisecond
	ctLongTTL  = time.Hour
)

// runConformance is the behaviour every backend must show.
func runConformance(t *testing.T, newReg newRegistryFunc) {
	tests := []struct {
		name string
		fn   func(*testing.T, newRegistryFunc)
	}{
		{"SelectByCapability", testSelectByCapability},
		{"WindowFit", testWindowFit},
		{"NoLiveReplica", testNoLiveReplica},
		{"TTLExpiry", testTTLExpiry},
		{"Deregister", testDeregister},
		{"Policies", testPolicies},
		{"Hints", testHints},
		{"CooldownAfterFailures", testCooldownAfterFailures},
		{"CooldownAfterRateLimit", testCooldownAfterRateLimit},
		{"NoCooldownForLostReplicas", testNoCooldownForLostReplicas},
		{"NoCooldownForOverload", testNoCooldownForOverload},
		{"HalfOpen", testHalfOpen},
		{"AllCoolingDown", testAllCoolingDown},
		{"LoadAwareTieBreak", testLoadAwareTieBreak},
		{"Models", testModels},
		{"Concurrent", testConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newReg)
		})
	}
}

// model is a spec with one capability and sensible numbers.
func model(name string, caps ...string) task.ModelSpec {
	return task.ModelSpec{Name: name, Backend: task.BackendOpenAI, Capabilities: caps,
		ContextWindow: 8000, MaxOutputTokens: 1000, Concurrency: 4}
}

// serve announces specs and gives each one live replica.
func serve(t *testing.T, r Registry, specs ...task.ModelSpec) {
	t.Helper()
	ctx := context.Background()
	for _, s := range specs {
		if err := r.Announce(ctx, s); err != nil {
			t.Fatalf("Announce(%s): %v", s.Name, err)
		}
		if err := r.Heartbeat(ctx, Replica{Model: s.Name, ID: "r1", Capacity: 4}, ctLongTTL); err != nil {
			t.Fatalf("Heartbeat(%s): %v", s.Name, err)
		}
	}
}

func mustSelect(t *testing.T, r Registry, q Query) Selection {
	t.Helper()
	s, err := r.Select(context.Background(), q)
	if err != nil {
		t.Fatalf("Select(%+v): %v", q, err)
	}
	return s
}

func names(s Selection) string {
	var b strings.Builder
	for i, m := range s.Candidates() {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(m.Name)
	}
	return b.String()
}

func wantOrder(t *testing.T, r Registry, q Query, want string) {
	t.Helper()
	if got := names(mustSelect(t, r, q)); got != want {
		t.Errorf("Select(%+v) = %s, want %s", q, got, want)
	}
}

// wantNoModel checks Select fails with CodeNoModel and a message holding
// every fragment.
func wantNoModel(t *testing.T, r Registry, q Query, fragments ...string) {
	t.Helper()
	_, err := r.Select(context.Background(), q)
	var te *task.Error
	if !errors.As(err, &te) || te.Code != task.CodeNoModel {
		t.Fatalf("Select(%+v) error = %v, want code %s", q, err, task.CodeNoModel)
	}
	for _, f := range append(fragments, fmt.Sprintf("%q", q.Capability)) {
		if !strings.Contains(te.Message, f) {
			t.Errorf("error %q does not mention %q", te.Message, f)
		}
	}
}

func testSelectByCapability(t *testing.T, newReg newRegistryFunc) {
	r := newReg(t)
	serve(t, r, model("sum-a", "summarize"), model("tr-b", "translate"), model("both", "summarize", "translate"))
	tests := []struct{ capability, want string }{
		{"summarize", "both,sum-a"},
		{"translate", "both,tr-b"},
	}
	for _, tc := range tests {
		wantOrder(t, r, Query{Capability: tc.capability}, tc.want)
	}
	wantNoModel(t, r, Query{Capability: "ocr"}, "no model offers", "summarize, translate")
}

func testWindowFit(t *testing.T, newReg newRegistryFunc) {
	r := newReg(t)
	small := model("small", "summarize")
	small.ContextWindow, small.MaxOutputTokens = 1000, 200
	big := model("big", "summarize")
	big.ContextWindow, big.MaxOutputTokens = 8000, 1000
	serve(t, r, small, big)
	tests := []struct {
		tokens int
		want   string
	}{
		{0, "big,small"},
		{800, "big,small"},
		{801, "big"},
		{7000, "big"},
	}
	for _, tc := range tests {
		wantOrder(t, r, Query{Capability: "summarize", Tokens: tc.tokens}, tc.want)
	}
	wantNoModel(t, r, Query{Capability: "summarize", Tokens: 7001}, "context window", "big")
}

func testNoLiveReplica(t *testing.T, newReg newRegistryFunc) {
	r := newReg(t)
	ctx := context.Background()
	if err := r.Announce(ctx, model("ghost", "translate")); err != nil {
		t.Fatal(err)
	}
	wantNoModel(t, r, Query{Capability: "translate"}, "no live model", "start an executor", "ghost")
	serve(t, r, model("alive", "translate"))
	wantOrder(t, r, Query{Capability: "translate"}, "alive")
	// A heartbeat before the spec is known does not make a model selectable
	// under a capability it never announced.
	if err := r.Heartbeat(ctx, Replica{Model: "unannounced", ID: "x"}, ctLongTTL); err != nil {
		t.Fatal(err)
	}
	wantOrder(t, r, Query{Capability: "translate"}, "alive")
}

func testTTLExpiry(t *testing.T, newReg newRegistryFunc) {
	const interval = 100 * time.Millisecond
	r := newReg(t)
	ctx := context.Background()
	serve(t, r, model("stays", "summarize"))
	if err := r.Announce(ctx, model("dies", "summarize")); err != nil {
		t.Fatal(err)
	}
	last := time.Now()
	if err := r.Heartbeat(ctx, Replica{Model: "dies", ID: "r1"}, 2*interval); err != nil {
		t.Fatal(err)
	}
	wantOrder(t, r, Query{Capability: "summarize"}, "dies,stays")
	// The slack of one interval absorbs scheduling delays under -race on a
	// loaded machine.
	for time.Since(last) < 3*interval {
		if names(mustSelect(t, r, Query{Capability: "summarize"})) == "stays" {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("a replica without heartbeats was still selected %v after its last one", time.Since(last))
}

func testDeregister(t *testing.T, newReg newRegistryFunc) {
	r := newReg(t)
	ctx := context.Background()
	serve(t, r, model("m", "summarize"))
	if err := r.Heartbeat(ctx, Replica{Model: "m", ID: "r2"}, ctLongTTL); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"r1", "missing"} {
		if err := r.Deregister(ctx, "m", id); err != nil {
			t.Fatalf("Deregister(%s): %v", id, err)
		}
	}
	wantOrder(t, r, Query{Capability: "summarize"}, "m")
	if err := r.Deregister(ctx, "m", "r2"); err != nil {
		t.Fatal(err)
	}
	wantNoModel(t, r, Query{Capability: "summarize"}, "no live model")
	list, err := r.Models(ctx)
	if err != nil || len(list) != 1 || list[0].State != StateDown || len(list[0].Replicas) != 0 {
		t.Fatalf("Models() = %+v, %v; want m down without replicas", list, err)
	}
}

// policyModels are three models that each win one single-criterion policy.
func policyModels() []task.ModelSpec {
	good := model("good", "answer")
	good.Quality = map[string]float64{"answer": 0.95}
	good.Price = task.Price{InputPerMTok: 10, OutputPerMTok: 30}
	cheap := model("cheap", "answer")
	cheap.Quality = map[string]float64{"answer": 0.6}
	cheap.Price = task.Price{InputPerMTok: 0.1, OutputPerMTok: 0.2}
	fast := model("fast", "answer")
	fast.Quality = map[string]float64{"answer": 0.7}
	fast.Price = task.Price{InputPerMTok: 1, OutputPerMTok: 2}
	return []task.ModelSpec{good, cheap, fast}
}

// recordLatency reports n successful dispatches of the given latency.
func recordLatency(r Registry, name string, d time.Duration, n int) {
	for range n {
		r.Started(name)
		r.Finished(context.Background(), name, Outcome{OK: true, Latency: d})
	}
}

func testPolicies(t *testing.T, newReg newRegistryFunc) {
	tests := []struct {
		defaultPolicy, hint, want string
	}{
		{PolicyQuality, "", "good,fast,cheap"},
		{PolicyCost, "", "cheap,fast,good"},
		{PolicyLatency, "", "fast,cheap,good"},
		{PolicyQuality, PolicyCost, "cheap,fast,good"},
		{PolicyCost, PolicyLatency, "fast,cheap,good"},
		{PolicyBalanced, "", "fast,cheap,good"},
		{PolicyBalanced, PolicyQuality, "good,fast,cheap"},
	}
	for _, tc := range tests {
		t.Run(tc.defaultPolicy+"/"+tc.hint, func(t *testing.T) {
			r := newReg(t, WithPolicy(tc.defaultPolicy))
			serve(t, r, policyModels()...)
			recordLatency(r, "good", 900*time.Millisecond, 3)
			recordLatency(r, "cheap", 600*time.Millisecond, 3)
			recordLatency(r, "fast", 50*time.Millisecond, 3)
			wantOrder(t, r, Query{Capability: "answer", Tokens: 1000, Hints: task.Hints{Policy: tc.hint}}, tc.want)
		})
	}
	r := newReg(t)
	serve(t, r, policyModels()...)
	_, err := r.Select(context.Background(), Query{Capability: "answer", Hints: task.Hints{Policy: "fastest"}})
	if te := task.AsError(err); te == nil || te.Code != task.CodeInvalidRequest {
		t.Errorf("unknown policy hint: error %v, want %s", err, task.CodeInvalidRequest)
	}
}

func testHints(t *testing.T, newReg newRegistryFunc) {
	r := newReg(t, WithPolicy(PolicyQuality))
	local := model("local/tiny", "answer")
	local.Backend = task.BackendLocal
	local.Quality = map[string]float64{"answer": 0.3}
	serve(t, r, append(policyModels(), local, model("other", "translate"))...)
	q := func(h task.Hints) Query { return Query{Capability: "answer", Tokens: 1000, Hints: h} }
	tests := []struct {
		name  string
		hints task.Hints
		want  string
	}{
		{"none", task.Hints{}, "good,fast,cheap,local/tiny"},
		{"pinned goes first", task.Hints{Model: "cheap"}, "cheap,good,fast,local/tiny"},
		{"pin without the capability is ignored", task.Hints{Model: "other"}, "good,fast,cheap,local/tiny"},
		{"max cost drops the dear", task.Hints{MaxCostUSD: 0.001}, "cheap,local/tiny"},
		{"max cost beats the pin", task.Hints{MaxCostUSD: 0.001, Model: "good"}, "cheap,local/tiny"},
		{"prefer local", task.Hints{PreferLocal: true}, "local/tiny,good,fast,cheap"},
		{"pin before local", task.Hints{PreferLocal: true, Model: "fast"}, "fast,local/tiny,good,cheap"},
	}
	for _, tc := range tests {
		if got := names(mustSelect(t, r, q(tc.hints))); got != tc.want {
			t.Errorf("%s: Select = %s, want %s", tc.name, got, tc.want)
		}
	}
	dear := newReg(t)
	serve(t, dear, policyModels()[0])
	wantNoModel(t, dear, q(task.Hints{MaxCostUSD: 0.0001}), "max_cost", "good")
}

// fail reports n failed dispatches with code.
func fail(r Registry, name string, code task.Code, retryAfter time.Duration, n int) {
	for range n {
		r.Started(name)
		r.Finished(context.Background(), name, Outcome{Code: code, RetryAfter: retryAfter, Latency: time.Millisecond})
	}
}

// cooldownPair is a preferred model "a" and a worse "b", both live.
func cooldownPair(t *testing.T, newReg newRegistryFunc, period time.Duration) Registry {
	r := newReg(t, WithPolicy(PolicyQuality), WithCooldown(3, period, 8*period))
	a, b := model("a", "answer"), model("b", "answer")
	a.Quality = map[string]float64{"answer": 0.9}
	b.Quality = map[string]float64{"answer": 0.5}
	serve(t, r, a, b)
	return r
}

var answer = Query{Capability: "answer"}

func testCooldownAfterFailures(t *testing.T, newReg newRegistryFunc) {
	r := cooldownPair(t, newReg, ctCooldown)
	fail(r, "a", task.CodeBadInput, 0, 5)
	fail(r, "a", task.CodeCancelled, 0, 5)
	fail(r, "a", task.CodeInvalidRequest, 0, 5)
	wantOrder(t, r, answer, "a,b")
	fail(r, "a", task.CodeUpstream, 0, 2)
	wantOrder(t, r, answer, "a,b")
	recordLatency(r, "a", time.Millisecond, 1) // a success resets the count
	fail(r, "a", task.CodeUpstream, 0, 2)
	wantOrder(t, r, answer, "a,b")
	fail(r, "a", task.CodeTimeout, 0, 1)
	wantOrder(t, r, answer, "b")
	waitFor(t, 3*ctCooldown, func() bool { return names(mustSelect(t, r, answer)) == "a,b" })
}

func testCooldownAfterRateLimit(t *testing.T, newReg newRegistryFunc) {
	r := cooldownPair(t, newReg, ctCooldown)
	start := time.Now()
	fail(r, "a", task.CodeRateLimited, 3*ctCooldown, 1)
	wantOrder(t, r, answer, "b")
	time.Sleep(ctCooldown + ctCooldown/2)
	if time.Since(start) < 3*ctCooldown-ctCooldown/3 {
		wantOrder(t, r, answer, "b") // Retry-After outlasts the base period
	}
	waitFor(t, 5*ctCooldown, func() bool { return names(mustSelect(t, r, answer)) == "a,b" })
	// A cooldown shared through Redis is on the wall clock, which may run
	// a little faster than time.Since's monotonic one (0.5% on some VMs).
	if d := time.Since(start); d < 3*ctCooldown-3*ctCooldown/50 {
		t.Errorf("a came back after %v, before its Retry-After of %v", d, 3*ctCooldown)
	}
}

// testNoCooldownForLostReplicas: a burst of lost and unavailable
// dispatches (a replica killed, none listening) leaves the model
// selectable, while upstream failures and a 429 still cool it down.
func testNoCooldownForLostReplicas(t *testing.T, newReg newRegistryFunc) {
	tests := []struct {
		name     string
		code     task.Code
		n        int
		want     string
		blocking bool
	}{
		{"lost", task.CodeLost, 20, "a,b", false},
		{"unavailable", task.CodeUnavailable, 20, "a,b", false},
		{"upstream", task.CodeUpstream, 3, "b", true},
		{"rate_limited", task.CodeRateLimited, 1, "b", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := cooldownPair(t, newReg, time.Minute)
			fail(r, "a", tc.code, 0, tc.n)
			wantOrder(t, r, answer, tc.want)
			list, err := r.Models(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if a := list[0]; (a.State == StateCooldown) != tc.blocking {
				t.Errorf("after %d %s outcomes a is %s, want cooling down %v", tc.n, tc.code, a.State, tc.blocking)
			}
		})
	}
	// Interleaved with real failures, lost ones neither count nor reset.
	r := cooldownPair(t, newReg, time.Minute)
	fail(r, "a", task.CodeUpstream, 0, 2)
	fail(r, "a", task.CodeLost, 0, 10)
	fail(r, "a", task.CodeUnavailable, 0, 10)
	wantOrder(t, r, answer, "a,b")
	fail(r, "a", task.CodeUpstream, 0, 1)
	wantOrder(t, r, answer, "b")
}

// testNoCooldownForOverload: executors refusing work with a full queue
// (overloaded) are backpressure, not a failure of the model. A burst of it,
// seen by Models after a round trip through the backend, leaves the model
// ready and selectable and neither counts toward the breaker nor resets it;
// an upstream's 429 with Retry-After still cools the model down for it.
func testNoCooldownForOverload(t *testing.T, newReg newRegistryFunc) {
	r := cooldownPair(t, newReg, time.Minute)
	fail(r, "a", task.CodeOverloaded, 0, 50)
	fail(r, "a", task.CodeOverloaded, time.Minute, 50) // a Retry-After on backpressure changes nothing
	if a := modelState(t, r, "a"); a.State != StateReady || a.Errors != 100 {
		t.Errorf("after 100 overloaded outcomes a is %s with %d errors, want ready with 100", a.State, a.Errors)
	}
	wantOrder(t, r, answer, "a,b")
	fail(r, "a", task.CodeUpstream, 0, 2)
	fail(r, "a", task.CodeOverloaded, 0, 20)
	wantOrder(t, r, answer, "a,b")
	fail(r, "a", task.CodeUpstream, 0, 1)
	wantOrder(t, r, answer, "b")

	// The period is short, so only the Retry-After keeps a cooling down.
	limited := cooldownPair(t, newReg, ctCooldown)
	fail(limited, "a", task.CodeOverloaded, 0, 50)
	wantOrder(t, limited, answer, "a,b")
	asked := time.Now()
	fail(limited, "a", task.CodeRateLimited, time.Minute, 1)
	wantOrder(t, limited, answer, "b")
	// Redis time converts to local time within a round trip.
	if a := modelState(t, limited, "a"); a.State != StateCooldown || a.CooldownUntil.Before(asked.Add(time.Minute-time.Second)) {
		t.Errorf("after a 429 with Retry-After 1m a is %s until %v from now, want cooling down for about 1m", a.State, time.Until(a.CooldownUntil))
	}
	wantOrder(t, limited, answer, "b")
}

// modelState returns name's entry in r.Models.
func modelState(t *testing.T, r Registry, name string) ModelState {
	t.Helper()
	list, err := r.Models(context.Background())
	if err != nil {
		t.Fatalf("Models: %v", err)
	}
	for _, m := range list {
		if m.Spec.Name == name {
			return m
		}
	}
	t.Fatalf("Models has no %s: %+v", name, list)
	return ModelState{}
}

func testHalfOpen(t *testing.T, newReg newRegistryFunc) {
	r := cooldownPair(t, newReg, ctCooldown)
	fail(r, "a", task.CodeUpstream, 0, 3)
	waitFor(t, 3*ctCooldown, func() bool { return names(mustSelect(t, r, answer)) == "a,b" })
	// Half-open: the probe is in flight, so nothing else goes to a.
	r.Started("a")
	wantOrder(t, r, answer, "b")
	// The probe fails: a cools down for twice the period.
	reopened := time.Now()
	r.Finished(context.Background(), "a", Outcome{Code: task.CodeUpstream})
	wantOrder(t, r, answer, "b")
	time.Sleep(ctCooldown + ctCooldown/3)
	if time.Since(reopened) < 2*ctCooldown-ctCooldown/3 {
		wantOrder(t, r, answer, "b")
	}
	waitFor(t, 4*ctCooldown, func() bool { return names(mustSelect(t, r, answer)) == "a,b" })
	// A successful probe closes the breaker: two failures do not reopen it.
	recordLatency(r, "a", time.Millisecond, 1)
	fail(r, "a", task.CodeUpstream, 0, 2)
	wantOrder(t, r, answer, "a,b")
}

func testAllCoolingDown(t *testing.T, newReg newRegistryFunc) {
	r := cooldownPair(t, newReg, ctCooldown)
	fail(r, "a", task.CodeRateLimited, 4*ctCooldown, 1)
	fail(r, "b", task.CodeRateLimited, 2*ctCooldown, 1)
	s := mustSelect(t, r, answer)
	if names(s) != "b,a" || s.Wait <= ctCooldown || s.Wait > 2*ctCooldown {
		t.Errorf("all cooling: Select = %s wait %v, want b,a with a wait in (%v, %v]", names(s), s.Wait, ctCooldown, 2*ctCooldown)
	}
	lone := newReg(t)
	serve(t, lone, model("solo", "answer"))
	fail(lone, "solo", task.CodeRateLimited, 0, 1)
	s = mustSelect(t, lone, answer)
	if names(s) != "solo" || s.Wait <= 0 || s.Wait > DefaultCooldown {
		t.Errorf("lone model after one 429: Select = %s wait %v, want solo with a wait up to %v", names(s), s.Wait, DefaultCooldown)
	}
}

func testLoadAwareTieBreak(t *testing.T, newReg newRegistryFunc) {
	r := newReg(t, WithPolicy(PolicyQuality))
	serve(t, r, model("x", "answer"), model("y", "answer"))
	wantOrder(t, r, answer, "x,y") // equal in every way: by name
	r.Started("x")
	wantOrder(t, r, answer, "y,x")
	r.Started("y")
	r.Started("y")
	wantOrder(t, r, answer, "x,y")
	ctx := context.Background()
	r.Finished(ctx, "y", Outcome{OK: true})
	r.Finished(ctx, "y", Outcome{OK: true})
	r.Finished(ctx, "x", Outcome{OK: true})
	// Replica-reported work counts as well.
	if err := r.Heartbeat(ctx, Replica{Model: "x", ID: "r1", InFlight: 3, Capacity: 4}, ctLongTTL); err != nil {
		t.Fatal(err)
	}
	wantOrder(t, r, answer, "y,x")
}

func testModels(t *testing.T, newReg newRegistryFunc) {
	r := cooldownPair(t, newReg, time.Minute)
	ctx := context.Background()
	if err := r.Announce(ctx, model("c-down", "answer")); err != nil {
		t.Fatal(err)
	}
	fail(r, "a", task.CodeUpstream, 0, 3)
	recordLatency(r, "b", 40*time.Millisecond, 2)
	r.Started("b")
	if err := r.Heartbeat(ctx, Replica{Model: "b", ID: "r2", InFlight: 2, Capacity: 4}, ctLongTTL); err != nil {
		t.Fatal(err)
	}
	list, err := r.Models(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, len(list))
	for i, m := range list {
		got[i] = fmt.Sprintf("%s:%s:%d:%d:%d", m.Spec.Name, m.State, len(m.Replicas), m.InFlight, m.Errors)
	}
	want := "a:cooldown:1:0:3 b:ready:2:3:0 c-down:down:0:0:0"
	if strings.Join(got, " ") != want {
		t.Errorf("Models() = %s, want %s", strings.Join(got, " "), want)
	}
	if a := list[0]; a.CooldownUntil.IsZero() || a.ConsecutiveErr != 3 {
		t.Errorf("a: cooldown until %v, consecutive errors %d; want set and 3", a.CooldownUntil, a.ConsecutiveErr)
	}
	if b := list[1]; b.LatencyEWMAms < 39 || b.LatencyEWMAms > 41 {
		t.Errorf("b: latency EWMA %.1f ms, want 40", b.LatencyEWMAms)
	}
}

func testConcurrent(t *testing.T, newReg newRegistryFunc) {
	r := newReg(t)
	serve(t, r, policyModels()...)
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				s, err := r.Select(ctx, Query{Capability: "answer", Tokens: i})
				if err != nil {
					t.Error(err)
					return
				}
				name := s.Model.Name
				r.Started(name)
				r.Finished(ctx, name, Outcome{OK: i%7 != 0, Code: task.CodeBadInput, Latency: time.Duration(i) * time.Microsecond})
				if i%50 == 0 {
					_ = r.Heartbeat(ctx, Replica{Model: name, ID: fmt.Sprintf("g%d", g)}, ctLongTTL)
					_, _ = r.Models(ctx)
				}
			}
		})
	}
	wg.Wait()
	list, err := r.Models(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range list {
		if m.InFlight != 0 || m.State != StateReady {
			t.Errorf("%s after balanced Started/Finished: in flight %d, state %s", m.Spec.Name, m.InFlight, m.State)
		}
	}
}

// waitFor polls cond until it holds or within passes.
func waitFor(t *testing.T, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition still false after %v", within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
