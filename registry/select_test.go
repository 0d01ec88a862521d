package registry

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

func TestEstimateCost(t *testing.T) {
	spec := task.ModelSpec{Price: task.Price{InputPerMTok: 2, OutputPerMTok: 10}, MaxOutputTokens: 500}
	tests := []struct {
		tokens int
		want   float64
	}{
		{0, 0},
		{100, (100*2 + 100*10) / 1e6},
		{2000, (2000*2 + 500*10) / 1e6}, // output capped at the limit
	}
	for _, tc := range tests {
		if got := EstimateCost(spec, tc.tokens); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("EstimateCost(%d) = %g, want %g", tc.tokens, got, tc.want)
		}
	}
}

func TestRank(t *testing.T) {
	// c is a candidate named name; its entry is made from the name.
	type c struct {
		name string
		candidate
	}
	tests := []struct {
		name  string
		w     Weights
		cands []c
		want  string
	}{
		{"unknown latency counts as the average", Weights{Latency: 1},
			[]c{{"slow", candidate{latency: 300}}, {"new", candidate{}}, {"quick", candidate{latency: 100}}},
			"quick,new,slow"},
		{"equal scores: less loaded, then name", Weights{Quality: 1},
			[]c{{"b", candidate{quality: 0.5, load: 0.5}}, {"c", candidate{quality: 0.5}}, {"a", candidate{quality: 0.5}}},
			"a,c,b"},
		{"rounding noise is a tie", Weights{Quality: 1},
			[]c{{"b", candidate{quality: 0.3}}, {"a", candidate{quality: 0.1 + 0.2}}},
			"a,b"},
		{"pinned and local come first", Weights{Quality: 1},
			[]c{{"best", candidate{quality: 1}}, {"loc", candidate{first: 1}}, {"pin", candidate{first: 2}}},
			"pin,loc,best"},
		{"balanced trades quality for cost", Weights{Quality: 0.5, Cost: 0.5},
			[]c{{"dear", candidate{quality: 0.9, cost: 1}}, {"cheap", candidate{quality: 0.7, cost: 0.1}}},
			"cheap,dear"},
	}
	for _, tc := range tests {
		list := make([]*entry, len(tc.cands))
		cands := make([]candidate, len(tc.cands))
		for i, x := range tc.cands {
			list[i], cands[i] = &entry{name: x.name}, x.candidate
			cands[i].idx = int32(i)
		}
		rank(cands, list, tc.w, -1)
		got := make([]string, len(cands))
		for i, x := range cands {
			got[i] = list[x.idx].name
		}
		if strings.Join(got, ",") != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, strings.Join(got, ","), tc.want)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		ok   bool
	}{
		{"zero is defaults", Options{}, true},
		{"every policy", Options{Policy: PolicyLatency}, true},
		{"unknown policy", Options{Policy: "fastest"}, false},
		{"negative weight", Options{Weights: Weights{Cost: -1}}, false},
		{"NaN weight", Options{Weights: Weights{Quality: math.NaN()}}, false},
		{"negative ttl", Options{HeartbeatTTL: -time.Second}, false},
		{"max below base", Options{Cooldown: time.Minute, MaxCooldown: time.Second}, false},
	}
	for _, tc := range tests {
		if err := tc.o.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

func TestNewMemoryPanicsOnInvalidOptions(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewMemory with an unknown policy did not panic")
		}
	}()
	NewMemory(WithPolicy("fastest"))
}

func TestSelectHonoursContext(t *testing.T) {
	r := NewMemory()
	serve(t, r, model("m", "answer"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Select(ctx, answer); task.AsError(err).Code != task.CodeCancelled {
		t.Errorf("Select with a cancelled context: %v, want %s", err, task.CodeCancelled)
	}
}

func TestAnnounceAndHeartbeatValidate(t *testing.T) {
	r := NewMemory()
	ctx := context.Background()
	if err := r.Announce(ctx, task.ModelSpec{}); task.AsError(err).Code != task.CodeInvalidRequest {
		t.Errorf("Announce without a name: %v", err)
	}
	if err := r.Heartbeat(ctx, Replica{Model: "m"}, time.Second); task.AsError(err).Code != task.CodeInvalidRequest {
		t.Errorf("Heartbeat without an id: %v", err)
	}
}

// TestHeartbeatDefaultTTL uses a fake clock: ttl <= 0 means HeartbeatTTL.
func TestHeartbeatDefaultTTL(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	r := NewMemory(WithClock(func() time.Time { return now }), WithHeartbeatTTL(5*time.Second))
	ctx := context.Background()
	if err := r.Announce(ctx, model("m", "answer")); err != nil {
		t.Fatal(err)
	}
	if err := r.Heartbeat(ctx, Replica{Model: "m", ID: "r"}, 0); err != nil {
		t.Fatal(err)
	}
	now = now.Add(4 * time.Second)
	wantOrder(t, r, answer, "m")
	now = now.Add(time.Second)
	wantUnavailable(t, r, answer, 5*time.Second, "no live model")
}

// TestBestFirstMatchesSort: the partial sort puts the same k first as a
// full sort, for every k.
func TestBestFirstMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		n := 1 + rng.IntN(30)
		list := make([]*entry, n)
		cands := make([]candidate, n)
		for i := range cands {
			list[i] = &entry{name: fmt.Sprintf("m%02d", i)}
			cands[i] = candidate{idx: int32(i), first: int32(rng.IntN(2)), score: int64(rng.IntN(4)), load: float64(rng.IntN(3))}
		}
		want := slices.Clone(cands)
		sort.Sort(byCompare{want, list, better})
		k := rng.IntN(n + 2)
		got := slices.Clone(cands)
		bestFirst(got, list, k, better)
		for i := range min(k, n) {
			if got[i].idx != want[i].idx {
				t.Fatalf("round %d, n %d, k %d: position %d holds %d, want %d", round, n, k, i, got[i].idx, want[i].idx)
			}
		}
	}
}

func TestMaxFallbacks(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		max  int
		want string
	}{
		{0, "a,b,c,d"}, // the default, 8, keeps all four
		{2, "a,b,c"},
		{-1, "a,b,c,d"},
	}
	for _, tc := range tests {
		r := NewMemory(WithMaxFallbacks(tc.max))
		serve(t, r, model("d", "answer"), model("c", "answer"), model("b", "answer"), model("a", "answer"))
		wantOrder(t, r, answer, tc.want)
		// With the best cooling down, the cap holds over the others.
		r.Finished(ctx, "a", Outcome{Code: task.CodeRateLimited, RetryAfter: time.Minute})
		wantOrder(t, r, answer, strings.TrimPrefix(tc.want, "a,")+map[int]string{2: ",d"}[tc.max])
	}
}
