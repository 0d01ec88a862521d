package registry

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// snapshot is the registry as refreshScript returned it. Times are on the
// Redis server's clock, in milliseconds.
type snapshot struct {
	now       int64
	epoch     string
	specs     map[string]task.ModelSpec
	replicas  map[string][]replicaSlot // expires in server ms
	cooldowns map[string]remoteCooldown
	stats     map[string]remoteStats
	// peerInFlight sums the other routers' in-flight counts per model.
	peerInFlight map[string]int
}

// remoteCooldown is a shared cooldown, with the failure that opened it
// (routers before these fields wrote only the times).
type remoteCooldown struct {
	UntilMs  int64  `json:"until_ms"`
	PeriodMs int64  `json:"period_ms"`
	Code     string `json:"code,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Replica  string `json:"replica,omitempty"`
}

type remoteStats struct {
	LatencyEWMAms float64 `json:"latency_ewma_ms"`
	Calls         int     `json:"calls"`
	Errors        int     `json:"errors"`
}

type remoteInFlight struct {
	ExpiresMs int64          `json:"expires_ms"`
	Models    map[string]int `json:"models"`
}

// specCache keeps decoded specs by their JSON, so a refresh decodes only
// the specs that changed.
type specCache map[string]task.ModelSpec

// decodeSnapshot parses refreshScript's reply. Entries that do not parse
// are skipped: one bad writer must not blind every router. self is this
// router's id, whose own in-flight counts are kept locally. It returns the
// spec cache for the next call, holding only the specs still present.
func decodeSnapshot(reply []any, self string, cache specCache) (snapshot, specCache, error) {
	if len(reply) != 7 {
		return snapshot{}, nil, fmt.Errorf("decoding registry snapshot: %d parts, want 7", len(reply))
	}
	now, ok := reply[0].(int64)
	if !ok {
		return snapshot{}, nil, fmt.Errorf("decoding registry snapshot: server time is %T", reply[0])
	}
	s := snapshot{now: now, specs: map[string]task.ModelSpec{}, replicas: map[string][]replicaSlot{},
		cooldowns: map[string]remoteCooldown{}, stats: map[string]remoteStats{}, peerInFlight: map[string]int{}}
	s.epoch, _ = reply[1].(string)
	next := specCache{}
	eachPair(reply[2], func(name, raw string) { s.addSpec(name, raw, cache, next) })
	eachPair(reply[3], s.addReplica)
	eachPair(reply[4], func(model, raw string) { decodeInto(raw, model, s.cooldowns) })
	eachPair(reply[5], func(model, raw string) { decodeInto(raw, model, s.stats) })
	eachPair(reply[6], func(router, raw string) {
		var f remoteInFlight
		if router == self || decodeEntry(raw, &f) != nil || f.ExpiresMs <= now {
			return
		}
		for m, n := range f.Models {
			s.peerInFlight[m] += max(n, 0)
		}
	})
	return s, next, nil
}

// decodeEntry decodes one entry that any writer of the Redis keys may
// have stored, refusing one nested deeper than task.MaxJSONDepth before
// encoding/json reads up to 10,000 levels of it.
func decodeEntry(raw string, v any) error {
	data := []byte(raw)
	if err := task.CheckJSONDepth(data, task.MaxJSONDepth); err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// eachPair calls fn for every (a, b) of a flat list of strings.
func eachPair(v any, fn func(a, b string)) {
	list, _ := v.([]any)
	for i := 0; i+1 < len(list); i += 2 {
		a, okA := list[i].(string)
		b, okB := list[i+1].(string)
		if okA && okB {
			fn(a, b)
		}
	}
}

func decodeInto[T any](raw, key string, into map[string]T) {
	var v T
	if decodeEntry(raw, &v) == nil {
		into[key] = v
	}
}

func (s *snapshot) addSpec(name, raw string, cache, next specCache) {
	spec, ok := cache[raw]
	if !ok && (decodeEntry(raw, &spec) != nil || spec.Name != name) {
		return
	}
	next[raw] = spec
	s.specs[name] = spec
}

func (s *snapshot) addReplica(raw, expiry string) {
	var r Replica
	exp, err := strconv.ParseFloat(expiry, 64)
	if err != nil || math.IsNaN(exp) || decodeEntry(raw, &r) != nil || r.Model == "" || r.ID == "" {
		return
	}
	slot := replicaSlot{Replica: r, expires: int64(exp)}
	if ttl := time.Duration(slot.expires - r.SeenAt.UnixNano()); ttl > 0 {
		slot.ttl = ttl // what its last heartbeat asked for, give or take clocks
	}
	s.replicas[r.Model] = append(s.replicas[r.Model], slot)
}
