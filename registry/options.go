package registry

import (
	"cmp"
	"fmt"
	"log/slog"
	"math"
	"time"
)

// The selection policies.
const (
	PolicyQuality  = "quality"
	PolicyCost     = "cost"
	PolicyLatency  = "latency"
	PolicyBalanced = "balanced"
)

// Defaults of Options.
const (
	DefaultPolicy             = PolicyBalanced
	DefaultHeartbeatTTL       = 10 * time.Second
	DefaultFailuresToCooldown = 3
	DefaultCooldown           = 5 * time.Second
	DefaultMaxCooldown        = 30 * time.Second
	DefaultKeyPrefix          = "tr:"
	DefaultRefreshInterval    = 500 * time.Millisecond
	DefaultMaxFallbacks       = 8
)

// DefaultWeights are the weights of the balanced policy.
var DefaultWeights = Weights{Quality: 0.4, Cost: 0.3, Latency: 0.2, Load: 0.1}

// Weights weigh the normalised criteria of a model's score: quality in [0,1]
// counts for it; cost, latency and load count against it. Cost and latency
// are divided by the largest among the candidates; load is in-flight
// subtasks over capacity.
type Weights struct {
	Quality float64 `json:"quality" yaml:"quality"`
	Cost    float64 `json:"cost" yaml:"cost"`
	Latency float64 `json:"latency" yaml:"latency"`
	Load    float64 `json:"load" yaml:"load"`
}

// Options tune a registry. The zero value of a field means its default.
type Options struct {
	// Policy ranks candidates: quality, cost, latency or balanced.
	Policy string
	// Weights are the balanced policy's weights. The single-criterion
	// policies ignore them and break ties by load, then by name.
	Weights Weights
	// HeartbeatTTL is the replica lifetime when Heartbeat is given ttl <= 0.
	HeartbeatTTL time.Duration
	// FailuresToCooldown consecutive failures open a model's circuit
	// breaker (an upstream's 429 opens it at once).
	FailuresToCooldown int
	// Cooldown is the first period a breaker stays open (default 5 s: long
	// enough to spare a dead upstream a retry storm, short enough that a
	// blip costs little); each failed half-open probe doubles it, up to
	// MaxCooldown (default 30 s), so an upstream that comes back serves
	// again within 30 s. A 429's Retry-After, when longer than the period,
	// wins, up to MaxCooldown as well.
	Cooldown, MaxCooldown time.Duration
	// MaxFallbacks caps Selection.Fallbacks: a router tries a few models,
	// not a hundred. Zero means DefaultMaxFallbacks; negative means every
	// candidate.
	MaxFallbacks int
	// Now is the clock; tests set it.
	Now func() time.Time

	// KeyPrefix prefixes every Redis key (Redis only). For Redis Cluster use
	// a hash tag such as "{tr}:" so the scripts' keys share one slot.
	KeyPrefix string
	// RefreshInterval is how often the Redis backend pushes its counters and
	// reloads its snapshot (Redis only).
	RefreshInterval time.Duration
	// Logger receives every circuit breaker change (open at warn,
	// half-open and closed at info) and the Redis backend's outage and
	// recovery notes.
	Logger *slog.Logger
	// RouterID names this process in shared in-flight counts (Redis only);
	// default a random id.
	RouterID string
}

// Option changes Options.
type Option func(*Options)

// WithOptions replaces every option with o; later options still apply.
func WithOptions(o Options) Option { return func(p *Options) { *p = o } }

// WithPolicy sets the default selection policy.
func WithPolicy(policy string) Option { return func(o *Options) { o.Policy = policy } }

// WithWeights sets the balanced policy's weights.
func WithWeights(w Weights) Option { return func(o *Options) { o.Weights = w } }

// WithHeartbeatTTL sets the replica lifetime used when Heartbeat gets none.
func WithHeartbeatTTL(d time.Duration) Option { return func(o *Options) { o.HeartbeatTTL = d } }

// WithCooldown sets how many consecutive failures start a cooldown, the
// first period and the cap of the doubling.
func WithCooldown(failures int, period, maxPeriod time.Duration) Option {
	return func(o *Options) {
		o.FailuresToCooldown, o.Cooldown, o.MaxCooldown = failures, period, maxPeriod
	}
}

// WithMaxFallbacks caps the fallbacks of a selection; negative means all.
func WithMaxFallbacks(n int) Option { return func(o *Options) { o.MaxFallbacks = n } }

// WithClock sets the clock.
func WithClock(now func() time.Time) Option { return func(o *Options) { o.Now = now } }

// WithKeyPrefix sets the Redis key prefix.
func WithKeyPrefix(prefix string) Option { return func(o *Options) { o.KeyPrefix = prefix } }

// WithRefreshInterval sets how often the Redis backend syncs.
func WithRefreshInterval(d time.Duration) Option { return func(o *Options) { o.RefreshInterval = d } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(o *Options) { o.Logger = l } }

// WithRouterID names this process in shared counters.
func WithRouterID(id string) Option { return func(o *Options) { o.RouterID = id } }

// ValidPolicy reports whether name is a selection policy; empty is valid and
// means the default.
func ValidPolicy(name string) bool {
	switch name {
	case "", PolicyQuality, PolicyCost, PolicyLatency, PolicyBalanced:
		return true
	}
	return false
}

// Validate reports the first invalid option, in words a configuration
// author can act on.
func (o Options) Validate() error {
	if !ValidPolicy(o.Policy) {
		return fmt.Errorf("validating registry options: unknown policy %q: use quality, cost, latency or balanced", o.Policy)
	}
	w := o.Weights
	for _, v := range []float64{w.Quality, w.Cost, w.Latency, w.Load} {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("validating registry options: weights must be finite and not negative, got %+v", w)
		}
	}
	if o.HeartbeatTTL < 0 || o.Cooldown < 0 || o.MaxCooldown < 0 || o.RefreshInterval < 0 || o.FailuresToCooldown < 0 {
		return fmt.Errorf("validating registry options: durations and the failure count must not be negative")
	}
	if o.Cooldown > 0 && o.MaxCooldown > 0 && o.MaxCooldown < o.Cooldown {
		return fmt.Errorf("validating registry options: max cooldown %v is shorter than cooldown %v", o.MaxCooldown, o.Cooldown)
	}
	return nil
}

// buildOptions applies opts over the defaults and validates the result.
func buildOptions(opts []Option) (Options, error) {
	var o Options
	for _, apply := range opts {
		apply(&o)
	}
	if err := o.Validate(); err != nil {
		return o, err
	}
	o.fillDefaults()
	return o, nil
}

func (o *Options) fillDefaults() {
	o.Policy = cmp.Or(o.Policy, DefaultPolicy)
	if o.Weights == (Weights{}) {
		o.Weights = DefaultWeights
	}
	o.HeartbeatTTL = cmp.Or(o.HeartbeatTTL, DefaultHeartbeatTTL)
	o.FailuresToCooldown = cmp.Or(o.FailuresToCooldown, DefaultFailuresToCooldown)
	o.Cooldown = cmp.Or(o.Cooldown, DefaultCooldown)
	o.MaxCooldown = max(cmp.Or(o.MaxCooldown, DefaultMaxCooldown), o.Cooldown)
	o.MaxFallbacks = cmp.Or(o.MaxFallbacks, DefaultMaxFallbacks)
	o.KeyPrefix = cmp.Or(o.KeyPrefix, DefaultKeyPrefix)
	o.RefreshInterval = cmp.Or(o.RefreshInterval, DefaultRefreshInterval)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// weightsFor returns the weights of a policy.
func (o *Options) weightsFor(policy string) Weights {
	switch policy {
	case PolicyQuality:
		return Weights{Quality: 1}
	case PolicyCost:
		return Weights{Cost: 1}
	case PolicyLatency:
		return Weights{Latency: 1}
	}
	return o.Weights
}
