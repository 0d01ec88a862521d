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
		{"Withdraw", testWithdraw},
		{"Policies", testPolicies},
		{"Hints", testHints},
		{"PinnedFallbacks", testPinnedFallbacks},
		{"CooldownAfterFailures", testCooldownAfterFailures},
		{"CooldownAfterRateLimit", testCooldownAfterRateLimit},
		{"NoCooldownForLostReplicas", testNoCooldownForLostReplicas},
		{"NoCooldownForOverload", testNoCooldownForOverload},
		{"HalfOpen", testHalfOpen},
		{"BreakerLog", testBreakerLog},
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
	wantSelectError(t, r, q, task.CodeNoModel, append(fragments, fmt.Sprintf("%q", q.Capability))...)
}

// wantSelectError checks Select fails at once with code and a message
// holding every fragment, and returns the error.
func wantSelectError(t *testing.T, r Registry, q Query, code task.Code, fragments ...string) *task.Error {
	t.Helper()
	_, err := r.Select(context.Background(), q)
	var te *task.Error
	if !errors.As(err, &te) || te.Code != code {
		t.Fatalf("Select(%+v) error = %v, want code %s", q, err, code)
	}
	for _, f := range fragments {
		if !strings.Contains(te.Message, f) {
			t.Errorf("error %q does not mention %q", te.Message, f)
		}
	}
	if te.Retryable != (code == task.CodeModelUnavailable) || (te.RetryAfterMs > 0) != (code == task.CodeModelUnavailable) {
		t.Errorf("error %v: retryable %v after %d ms; only %s is retryable and says when", te, te.Retryable, te.RetryAfterMs, task.CodeModelUnavailable)
	}
	return te
}

// wantUnavailable checks Select fails at once with CodeModelUnavailable,
// a message holding every fragment, and a Retry-After in (0, max].
func wantUnavailable(t *testing.T, r Registry, q Query, maxWait time.Duration, fragments ...string) *task.Error {
	t.Helper()
	te := wantSelectError(t, r, q, task.CodeModelUnavailable, fragments...)
	if te.RetryAfter() <= 0 || te.RetryAfter() > maxWait {
		t.Errorf("error %v: retry after %v, want (0, %v]", te, te.RetryAfter(), maxWait)
	}
	return te
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
	wantUnavailable(t, r, Query{Capability: "translate"}, DefaultHeartbeatTTL, "no live model", `"translate"`, "start one", "ghost")
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
	wantUnavailable(t, r, Query{Capability: "summarize"}, DefaultHeartbeatTTL, "no live model")
	list, err := r.Models(ctx)
	if err != nil || len(list) != 1 || list[0].State != StateDown || len(list[0].Replicas) != 0 {
		t.Fatalf("Models() = %+v, %v; want m down without replicas", list, err)
	}
}

// A withdrawn model is selected no more and leaves the list, even while a
// replica of it still heartbeats (an executor draining its last work);
// announced again, it is back with the counters it had.
func testWithdraw(t *testing.T, newReg newRegistryFunc) {
	r := newReg(t)
	ctx := context.Background()
	serve(t, r, model("gone", "summarize"), model("kept", "summarize"))
	fail(r, "gone", task.CodeUpstream, 0, 1)
	if err := r.Withdraw(ctx, "gone"); err != nil {
		t.Fatalf("Withdraw: %v", err)
	}
	if err := r.Withdraw(ctx, "never-announced"); err != nil {
		t.Fatalf("Withdraw of an unknown model: %v", err)
	}
	if err := r.Heartbeat(ctx, Replica{Model: "gone", ID: "r1", Capacity: 4}, ctLongTTL); err != nil {
		t.Fatal(err)
	}
	wantOrder(t, r, Query{Capability: "summarize"}, "kept")
	if _, ok := r.Spec("gone"); ok {
		t.Fatal("Spec still finds the withdrawn model")
	}
	wantSelectError(t, r, Query{Capability: "summarize", Hints: task.Hints{Model: "gone"}}, task.CodeModelNotFound)
	list, err := r.Models(ctx)
	if err != nil || len(list) != 1 || list[0].Spec.Name != "kept" {
		t.Fatalf("Models() = %+v, %v; want kept alone", list, err)
	}
	serve(t, r, model("gone", "summarize"))
	if st := modelState(t, r, "gone"); st.Errors != 1 {
		t.Fatalf("announced again, the model has %d errors; want the 1 it had", st.Errors)
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

// recordLatency reports n successful dispatches of the given latency,
// each one admitted by the breaker.
func recordLatency(r Registry, name string, d time.Duration, n int) {
	for range n {
		if r.Started(name) == nil {
			r.Finished(context.Background(), name, Outcome{OK: true, Latency: d, Replica: "r1"})
		}
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
		{"a named model alone", task.Hints{Model: "cheap"}, "cheap"},
		{"max cost drops the dear", task.Hints{MaxCostUSD: 0.001}, "cheap,local/tiny"},
		{"prefer local", task.Hints{PreferLocal: true}, "local/tiny,good,fast,cheap"},
		{"a named model ignores prefer local", task.Hints{PreferLocal: true, Model: "fast"}, "fast"},
	}
	for _, tc := range tests {
		if got := names(mustSelect(t, r, q(tc.hints))); got != tc.want {
			t.Errorf("%s: Select = %s, want %s", tc.name, got, tc.want)
		}
	}
	wantSelectError(t, r, q(task.Hints{Model: "other"}), task.CodeModelLacksCapability, `"other"`, `"answer"`, "translate")
	wantSelectError(t, r, q(task.Hints{Model: "nope"}), task.CodeModelNotFound, `"nope"`, "good")
	wantSelectError(t, r, q(task.Hints{MaxCostUSD: 0.001, Model: "good"}), task.CodeNoModel, `"good"`, "max_cost")
	dear := newReg(t)
	serve(t, dear, policyModels()[0])
	wantNoModel(t, dear, q(task.Hints{MaxCostUSD: 0.0001}), "max_cost", "good")
}

// testPinnedFallbacks: a query naming a model is served by that model, or
// by the fallbacks its spec lists, in their order, and by no other model,
// however well the others score.
func testPinnedFallbacks(t *testing.T, newReg newRegistryFunc) {
	r := newReg(t, WithPolicy(PolicyQuality), WithCooldown(1, time.Minute, time.Minute))
	ctx := context.Background()
	named := model("named", "answer", "translate")
	named.Quality = map[string]float64{"answer": 0.1}
	named.Fallbacks = []string{"second", "no-answer", "unknown", "named", "first"}
	best := model("best", "answer")
	best.Quality = map[string]float64{"answer": 1}
	second, first := model("second", "answer"), model("first", "answer")
	first.Quality = map[string]float64{"answer": 0.9}
	serve(t, r, named, best, second, first, model("no-answer", "translate"))
	pin := Query{Capability: "answer", Hints: task.Hints{Model: "named"}}
	wantOrder(t, r, pin, "named,second,first")
	if spec, ok := r.Spec("named"); !ok || fmt.Sprint(spec.Fallbacks) != fmt.Sprint(named.Fallbacks) {
		t.Errorf("Spec(named) = %+v, %v", spec, ok)
	}
	if _, ok := r.Spec("unknown"); ok {
		t.Error("Spec(unknown) found a model nobody announced")
	}
	wantOrder(t, r, Query{Capability: "translate", Hints: task.Hints{Model: "named"}}, "named,no-answer")

	// The named model cools down: its fallbacks serve, in order.
	fail(r, "named", task.CodeUpstream, 0, 1)
	wantOrder(t, r, pin, "second,first")
	// Its fallbacks down too: no other model serves; the error names them.
	fail(r, "second", task.CodeUpstream, 0, 1)
	if err := r.Deregister(ctx, "first", "r1"); err != nil {
		t.Fatal(err)
	}
	wantUnavailable(t, r, pin, time.Minute, `"named"`, `"second"`, `"first"`, "no live replica", "cooling down", "it failed")
	// Without fallbacks, a named model with no live replica is unavailable
	// for about a heartbeat, whatever else serves the capability.
	serve(t, r, model("alone", "answer"))
	if err := r.Deregister(ctx, "alone", "r1"); err != nil {
		t.Fatal(err)
	}
	wantUnavailable(t, r, Query{Capability: "answer", Hints: task.Hints{Model: "alone"}}, DefaultHeartbeatTTL, `"alone"`, "no live replica")
	// A window too small for the input is the caller's to fix.
	small := model("small", "answer")
	small.ContextWindow, small.MaxOutputTokens = 1000, 200
	serve(t, r, small)
	wantSelectError(t, r, Query{Capability: "answer", Tokens: 900, Hints: task.Hints{Model: "small"}}, task.CodeContextLength, `"small"`, "1000")
}

// fail reports n failed dispatches with code, each one admitted by the
// breaker (a refused one is not dispatched, so it has no outcome).
func fail(r Registry, name string, code task.Code, retryAfter time.Duration, n int) {
	for range n {
		if r.Started(name) == nil {
			r.Finished(context.Background(), name, Outcome{Code: code, RetryAfter: retryAfter, Latency: time.Millisecond,
				Replica: "r1", Message: "it failed"})
		}
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
	const retryAfter = 6 * ctCooldown // within the cap of 8 periods
	fail(limited, "a", task.CodeRateLimited, retryAfter, 1)
	wantOrder(t, limited, answer, "b")
	// Redis time converts to local time within a round trip.
	if a := modelState(t, limited, "a"); a.State != StateCooldown || a.CooldownUntil.Before(asked.Add(retryAfter-ctCooldown/3)) {
		t.Errorf("after a 429 with Retry-After %v a is %s until %v from now, want cooling down for about that", retryAfter, a.State, time.Until(a.CooldownUntil))
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
	// Open: every dispatch to a is refused at once, with when to retry.
	wantRefused(t, r, "a", ctCooldown)
	waitFor(t, 3*ctCooldown, func() bool { return names(mustSelect(t, r, answer)) == "a,b" })
	// Half-open: one dispatch is the probe; the others are refused.
	if err := r.Started("a"); err != nil {
		t.Fatalf("the half-open breaker refused the probe: %v", err)
	}
	wantOrder(t, r, answer, "b")
	wantRefused(t, r, "a", time.Second, "probe")
	// The probe fails: a cools down for twice the period.
	reopened := time.Now()
	r.Finished(context.Background(), "a", Outcome{Code: task.CodeUpstream, Replica: "r1", Message: "it failed again"})
	wantOrder(t, r, answer, "b")
	wantRefused(t, r, "a", 2*ctCooldown, "it failed again")
	time.Sleep(ctCooldown + ctCooldown/3)
	if time.Since(reopened) < 2*ctCooldown-ctCooldown/3 {
		wantOrder(t, r, answer, "b")
	}
	waitFor(t, 4*ctCooldown, func() bool { return names(mustSelect(t, r, answer)) == "a,b" })
	// A successful probe closes the breaker: every dispatch goes, and two
	// failures do not reopen it.
	recordLatency(r, "a", time.Millisecond, 1)
	for range 3 {
		if err := r.Started("a"); err != nil {
			t.Fatalf("a closed breaker refused a dispatch: %v", err)
		}
	}
	for range 3 {
		r.Finished(context.Background(), "a", Outcome{OK: true})
	}
	fail(r, "a", task.CodeUpstream, 0, 2)
	wantOrder(t, r, answer, "a,b")
}

// testBreakerLog: every change of a breaker is logged once through the
// registry's logger, with the model and the replica that caused it.
func testBreakerLog(t *testing.T, newReg newRegistryFunc) {
	var logs logBuffer
	r := newReg(t, WithLogger(logs.logger()), WithCooldown(2, ctCooldown, 4*ctCooldown))
	serve(t, r, model("m", "answer"))
	ctx := context.Background()
	for range 2 {
		if err := r.Started("m"); err != nil {
			t.Fatal(err)
		}
		r.Finished(ctx, "m", Outcome{Code: task.CodeUpstream, Message: "connection refused", Replica: "exec-7"})
	}
	waitFor(t, 3*ctCooldown, func() bool { _, err := r.Select(ctx, answer); return err == nil })
	if err := r.Started("m"); err != nil {
		t.Fatalf("the probe was refused: %v", err)
	}
	r.Finished(ctx, "m", Outcome{OK: true, Replica: "exec-8"})
	// A Redis registry reads its own cooldown back with its next refresh:
	// that is no new change.
	time.Sleep(3 * testRefresh)
	wantLogLines(t, &logs, 1, "level=WARN", "model circuit open", "model=m", "replica=exec-7", `reason="upstream: connection refused"`, "period=300ms", "until=")
	wantLogLines(t, &logs, 1, "level=INFO", "model circuit half-open", "model=m", "replica=exec-7")
	wantLogLines(t, &logs, 1, "level=INFO", "model circuit closed", "model=m", "replica=exec-8")
	wantLogLines(t, &logs, 3, "model circuit")
}

// wantRefused checks that Started refuses a dispatch to model with
// CodeModelUnavailable, a Retry-After in (0, max] and a message naming
// the model and each fragment.
func wantRefused(t *testing.T, r Registry, model string, maxWait time.Duration, fragments ...string) {
	t.Helper()
	err := r.Started(model)
	te := task.AsError(err)
	if te == nil || te.Code != task.CodeModelUnavailable || !te.Retryable || te.RetryAfter() <= 0 || te.RetryAfter() > maxWait {
		t.Fatalf("Started(%s) = %v, want %s retryable after (0, %v]", model, err, task.CodeModelUnavailable, maxWait)
	}
	for _, f := range append(fragments, fmt.Sprintf("%q", model)) {
		if !strings.Contains(te.Message, f) {
			t.Errorf("refusal %q does not mention %q", te.Message, f)
		}
	}
}

// testAllCoolingDown: with every candidate cooling down, Select fails at
// once, naming each and when the first can be tried again; a lone model
// after one 429 likewise.
func testAllCoolingDown(t *testing.T, newReg newRegistryFunc) {
	r := cooldownPair(t, newReg, ctCooldown)
	fail(r, "a", task.CodeRateLimited, 4*ctCooldown, 1)
	fail(r, "b", task.CodeRateLimited, 2*ctCooldown, 1)
	te := wantUnavailable(t, r, answer, 2*ctCooldown, `"a"`, `"b"`, "cooling down", "rate_limited: it failed", `capability "answer"`)
	if te.RetryAfter() <= ctCooldown {
		t.Errorf("all cooling: retry after %v, want about b's %v", te.RetryAfter(), 2*ctCooldown)
	}
	lone := newReg(t)
	serve(t, lone, model("solo", "answer"))
	fail(lone, "solo", task.CodeRateLimited, 0, 1)
	wantUnavailable(t, lone, answer, DefaultCooldown, `"solo"`, "rate_limited")
	wantUnavailable(t, lone, Query{Capability: "answer", Hints: task.Hints{Model: "solo"}}, DefaultCooldown, `"solo"`, "replica r1")
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
