package registry

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

// reply builds a refreshScript reply from one entry of each kind.
func reply(now int64, spec, replica, expiry, cooldown, stats, inflight string) []any {
	return []any{now, "epoch",
		[]any{"m", spec}, []any{replica, expiry},
		[]any{"m", cooldown}, []any{"m", stats}, []any{"other-router", inflight}}
}

func TestDecodeSnapshot(t *testing.T) {
	spec, _ := json.Marshal(task.ModelSpec{Name: "m", Capabilities: []string{"answer"}})
	rep, _ := json.Marshal(Replica{Model: "m", ID: "r1", Capacity: 2})
	r := reply(1000, string(spec), string(rep), "1500",
		`{"until_ms":2000,"period_ms":300}`, `{"latency_ewma_ms":12.5,"calls":4,"errors":1}`,
		`{"expires_ms":3000,"models":{"m":2,"x":-4}}`)
	s, cache, err := decodeSnapshot(r, "self", specCache{})
	if err != nil {
		t.Fatal(err)
	}
	if s.now != 1000 || s.epoch != "epoch" || s.specs["m"].Name != "m" || len(cache) != 1 {
		t.Errorf("header or specs wrong: %+v", s)
	}
	if reps := s.replicas["m"]; len(reps) != 1 || reps[0].ID != "r1" || reps[0].expires != 1500 {
		t.Errorf("replicas = %+v", reps)
	}
	if s.cooldowns["m"] != (remoteCooldown{UntilMs: 2000, PeriodMs: 300}) || s.stats["m"].Errors != 1 {
		t.Errorf("cooldowns %+v stats %+v", s.cooldowns, s.stats)
	}
	if s.peerInFlight["m"] != 2 || s.peerInFlight["x"] != 0 {
		t.Errorf("peer in-flight = %v, want m:2 and negatives dropped", s.peerInFlight)
	}
	// Our own entry and expired ones are not a peer's load.
	if s, _, _ := decodeSnapshot(r, "other-router", cache); len(s.peerInFlight) != 0 {
		t.Errorf("own in-flight counted as a peer's: %v", s.peerInFlight)
	}
	r[6] = []any{"old", `{"expires_ms":999,"models":{"m":5}}`}
	if s, _, _ := decodeSnapshot(r, "self", cache); len(s.peerInFlight) != 0 {
		t.Errorf("expired router counted: %v", s.peerInFlight)
	}
	if _, _, err := decodeSnapshot([]any{"x"}, "self", cache); err == nil {
		t.Error("a short reply decoded without error")
	}
}

// Entries nested deeper than task.MaxJSONDepth are skipped, as malformed
// ones are, before encoding/json reads up to 10,000 levels of them.
func TestDecodeSnapshotSkipsDeepEntries(t *testing.T) {
	deep := strings.Repeat("[", 200) + strings.Repeat("]", 200)
	r := reply(1000, `{"name":"m","x":`+deep+`}`, `{"model":"m","id":"r1","x":`+deep+`}`, "1500",
		`{"until_ms":2000,"x":`+deep+`}`, `{"calls":4,"x":`+deep+`}`, `{"expires_ms":3000,"models":{"m":2},"x":`+deep+`}`)
	s, _, err := decodeSnapshot(r, "self", specCache{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.specs)+len(s.replicas)+len(s.cooldowns)+len(s.stats)+len(s.peerInFlight) != 0 {
		t.Fatalf("deep entries kept: %+v", s)
	}
}

// FuzzDecodeSnapshot feeds whatever a writer might have stored in Redis:
// decoding never panics and keeps only well-formed entries.
func FuzzDecodeSnapshot(f *testing.F) {
	f.Add(`{"name":"m","capabilities":["a"]}`, `{"model":"m","id":"r"}`, "12", `{"until_ms":5}`, `{"calls":1}`, `{"expires_ms":9,"models":{"m":1}}`)
	f.Add(`{"name":"x"}`, `{}`, "nan", `[]`, `"s"`, `{"models":null}`)
	f.Add(``, `{"model":"m"}`, "-1e400", `{`, `null`, `{"expires_ms":1e30,"models":{"m":-1}}`)
	deep := strings.Repeat("[", 200) + strings.Repeat("]", 200)
	f.Add(`{"name":"m","x":`+deep+`}`, `{"model":"m","id":"r","x":`+deep+`}`, "12", deep, deep, strings.Repeat("[", 300))
	f.Fuzz(func(t *testing.T, spec, replica, expiry, cooldown, stats, inflight string) {
		s, cache, err := decodeSnapshot(reply(0, spec, replica, expiry, cooldown, stats, inflight), "self", specCache{})
		if err != nil {
			t.Fatalf("well-shaped reply rejected: %v", err)
		}
		for name, sp := range s.specs {
			if sp.Name != name {
				t.Errorf("spec stored as %q names %q", name, sp.Name)
			}
		}
		if len(cache) != len(s.specs) {
			t.Errorf("cache holds %d specs, snapshot %d", len(cache), len(s.specs))
		}
		for model, reps := range s.replicas {
			for _, r := range reps {
				if r.Model != model || r.ID == "" {
					t.Errorf("replica %+v kept under %q", r, model)
				}
			}
		}
		for m, n := range s.peerInFlight {
			if n < 0 {
				t.Errorf("negative peer in-flight %d for %q", n, m)
			}
		}
	})
}
