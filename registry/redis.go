package registry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/taskrouter/taskrouter/task"
)

// Redis is a registry shared through Redis by many routers and executors.
// Select works from a local snapshot refreshed in the background, so it
// never waits for Redis; Started and Finished count locally and are pushed
// in batches. While Redis is unreachable the last snapshot keeps serving.
type Redis struct {
	t         *table
	opt       Options
	rdb       redis.UniversalClient
	ownClient bool
	keys      redisKeys
	// epoch is written when Redis holds none; seeing another one later
	// means Redis lost its data.
	epoch string

	mu        sync.Mutex // guards the fields below
	announced map[string]string
	pending   map[string]*pendingStats
	cools     map[string]pendingCooldown

	// writing counts local writes in progress and gen counts finished ones:
	// a snapshot fetched across either is stale and not applied.
	writing atomic.Int32
	gen     atomic.Uint64

	sync    syncState
	kick    chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}
	closing sync.Once
}

var _ Registry = (*Redis)(nil)

// pendingStats are outcomes not yet pushed to Redis.
type pendingStats struct {
	calls, errors, samples int
	sumMs                  float64
}

// pendingCooldown is a cooldown this router opened, not yet pushed.
type pendingCooldown struct {
	until  time.Time
	period time.Duration
	cause  failure
}

// OpenRedis connects to the Redis at url (redis://host:port/db) and returns
// a registry that owns the client and closes it on Close.
func OpenRedis(ctx context.Context, url string, opts ...Option) (*Redis, error) {
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("opening registry: %w", task.Errorf(task.CodeInvalidRequest,
			"redis url %q: %v; use redis://host:6379/0", url, err))
	}
	return OpenRedisOptions(ctx, o, opts...)
}

// OpenRedisOptions is OpenRedis with the client's options given whole
// (an ACL user's password from elsewhere, TLS with a private CA).
func OpenRedisOptions(ctx context.Context, o *redis.Options, opts ...Option) (*Redis, error) {
	o.ContextTimeoutEnabled = true
	client := redis.NewClient(o)
	r, err := NewRedis(ctx, client, opts...)
	if err != nil {
		_ = client.Close()
		return nil, err
	}
	r.ownClient = true
	return r, nil
}

// NewRedis returns a registry over client, after loading a first snapshot.
// It fails when the options are invalid, when client ignores context
// deadlines (go-redis's ContextTimeoutEnabled is off: a hung Redis would
// then hold every sync for the client's own timeouts and retries, a minute
// or more, instead of the registry's bound), or when Redis cannot be
// reached; the caller keeps ownership of client.
func NewRedis(ctx context.Context, client redis.UniversalClient, opts ...Option) (*Redis, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("opening registry: %w", err)
	}
	if err := checkClient(client); err != nil {
		return nil, fmt.Errorf("opening registry: %w", err)
	}
	if o.RouterID == "" {
		o.RouterID = randomID()
	}
	r := &Redis{opt: o, rdb: client, keys: newRedisKeys(o.KeyPrefix), epoch: randomID(),
		announced: map[string]string{}, pending: map[string]*pendingStats{}, cools: map[string]pendingCooldown{},
		kick: make(chan struct{}, 1), done: make(chan struct{})}
	r.t = newTable(&r.opt)
	if err := r.refresh(ctx); err != nil {
		return nil, fmt.Errorf("opening registry: %w", unavailable(err))
	}
	r.sync.lastOK.Store(r.opt.Now().UnixNano())
	loopCtx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go r.loop(loopCtx)
	return r, nil
}

// checkClient refuses a client that would not stop at a context's
// deadline. Clients whose options cannot be read are taken as they are.
func checkClient(client redis.UniversalClient) error {
	var enabled bool
	switch c := client.(type) {
	case *redis.Client:
		enabled = c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		enabled = c.Options().ContextTimeoutEnabled
	default:
		return nil
	}
	if !enabled {
		return task.Errorf(task.CodeInvalidRequest, "the Redis client ignores context deadlines; create it with ContextTimeoutEnabled: true")
	}
	return nil
}

func randomID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// unavailable marks a Redis failure as CodeUnavailable, keeping the cause
// in the chain.
func unavailable(err error) error {
	return fmt.Errorf("%w: %w", task.Errorf(task.CodeUnavailable,
		"redis is unreachable; start redis-server or fix redis.url"), err)
}

// Announce stores or replaces a model spec in Redis and in the snapshot.
// Heartbeats through this registry re-store it, so it survives a Redis
// restart. It returns CodeInvalidRequest for a spec without a name and
// CodeUnavailable when Redis cannot be reached.
func (r *Redis) Announce(ctx context.Context, spec task.ModelSpec) error {
	if err := checkSpec(spec); err != nil {
		return err
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("announcing %s: %w", spec.Name, err)
	}
	r.mu.Lock()
	r.announced[spec.Name] = string(raw)
	r.mu.Unlock()
	defer r.beginWrite()()
	r.t.announce(spec)
	_, err = r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, r.keys.specs, spec.Name, raw)
		p.SetNX(ctx, r.keys.epoch, r.epoch, 0)
		return nil
	})
	if err != nil {
		return fmt.Errorf("announcing %s: %w", spec.Name, unavailable(err))
	}
	return nil
}

// Withdraw removes a model's spec here and in Redis, and stops this
// registry's heartbeats from storing it again. It returns CodeUnavailable
// when Redis cannot be reached; the spec is gone locally all the same.
func (r *Redis) Withdraw(ctx context.Context, model string) error {
	r.mu.Lock()
	delete(r.announced, model)
	r.mu.Unlock()
	defer r.beginWrite()()
	r.t.withdraw(model)
	if err := r.rdb.HDel(ctx, r.keys.specs, model).Err(); err != nil {
		return fmt.Errorf("withdrawing %s: %w", model, unavailable(err))
	}
	return nil
}

// Heartbeat registers or refreshes a replica until ttl after now on the
// Redis server's clock (ttl <= 0 means Options.HeartbeatTTL), re-storing
// the model's spec when it was announced here. It returns CodeUnavailable
// when Redis cannot be reached; the replica still counts locally.
func (r *Redis) Heartbeat(ctx context.Context, rep Replica, ttl time.Duration) error {
	if err := checkReplica(rep); err != nil {
		return err
	}
	ttl = cmpTTL(ttl, r.opt.HeartbeatTTL)
	now := r.opt.Now()
	rep.SeenAt = now
	raw, err := json.Marshal(rep)
	if err != nil {
		return fmt.Errorf("sending heartbeat of %s/%s: %w", rep.Model, rep.ID, err)
	}
	r.mu.Lock()
	spec := r.announced[rep.Model]
	r.mu.Unlock()
	specName := ""
	if spec != "" {
		specName = rep.Model
	}
	defer r.beginWrite()()
	r.t.heartbeat(rep, ttl, now)
	err = heartbeatScript.Run(ctx, r.rdb, []string{r.keys.specs, r.keys.replicas, r.keys.expiry, r.keys.epoch},
		replicaField(rep.Model, rep.ID), raw, ttl.Milliseconds(), specName, spec, r.epoch).Err()
	if err != nil {
		return fmt.Errorf("sending heartbeat of %s/%s: %w", rep.Model, rep.ID, unavailable(err))
	}
	return nil
}

// Deregister removes a replica at once, here and in Redis. It returns
// CodeUnavailable when Redis cannot be reached.
func (r *Redis) Deregister(ctx context.Context, model, replicaID string) error {
	defer r.beginWrite()()
	r.t.deregister(model, replicaID)
	f := replicaField(model, replicaID)
	_, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.HDel(ctx, r.keys.replicas, f)
		p.ZRem(ctx, r.keys.expiry, f)
		return nil
	})
	if err != nil {
		return fmt.Errorf("deregistering %s/%s: %w", model, replicaID, unavailable(err))
	}
	return nil
}

// beginWrite marks a local write in progress; call the result when it is
// done.
func (r *Redis) beginWrite() func() {
	r.writing.Add(1)
	return func() {
		r.gen.Add(1)
		r.writing.Add(-1)
		r.kickSync()
	}
}

func (r *Redis) kickSync() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Select chooses a model from the snapshot, as Memory.Select does; it never
// waits for Redis.
func (r *Redis) Select(ctx context.Context, q Query) (Selection, error) {
	if err := ctx.Err(); err != nil {
		return Selection{}, fmt.Errorf("selecting a model: %w", err)
	}
	return r.t.selectModel(q, r.opt.Now())
}

// Spec returns an announced model's spec from the snapshot.
func (r *Redis) Spec(name string) (task.ModelSpec, bool) { return r.t.spec(name) }

// LiveReplicas counts the model's live replicas, without I/O.
func (r *Redis) LiveReplicas(model string) int { return r.t.liveReplicas(model, r.opt.Now()) }

// Started admits a dispatch to model (see Observer.Started) and counts it
// in flight; the count reaches Redis with the next push.
func (r *Redis) Started(model string) error { return r.t.started(model, r.opt.Now()) }

// Finished ends a dispatch counted by Started and records its outcome
// locally at once; Redis learns it with the next push, which a new cooldown
// brings forward.
func (r *Redis) Finished(ctx context.Context, model string, o Outcome) {
	changed, until, period, cause := r.t.finished(model, o, r.opt.Now())
	r.mu.Lock()
	p := r.pending[model]
	if p == nil {
		p = &pendingStats{}
		r.pending[model] = p
	}
	p.add(o)
	if changed {
		r.cools[model] = pendingCooldown{until: until, period: period, cause: cause}
	}
	r.mu.Unlock()
	if changed {
		r.kickSync()
	}
}

func (p *pendingStats) add(o Outcome) {
	p.calls++
	if !o.OK {
		p.errors++
		return
	}
	p.samples++
	p.sumMs += float64(o.Latency) / float64(time.Millisecond)
}

// Models refreshes the snapshot and lists every announced model, sorted by
// name. The refresh waits at most one sync timeout (twice the refresh
// interval, at least a second), and not at all during an outage the
// background loop has seen: then the list is the last snapshot's, returned
// at once with a *StaleError (CodeUnavailable) that dates it.
func (r *Redis) Models(ctx context.Context) ([]ModelState, error) {
	ctx, cancel := context.WithTimeout(ctx, r.syncTimeout())
	defer cancel()
	err := r.syncOnDemand(ctx)
	list := r.t.list(r.opt.Now())
	if err != nil {
		return list, &StaleError{Since: time.Unix(0, r.sync.lastOK.Load()), Err: unavailable(err)}
	}
	return list, nil
}

// Close stops the background sync, pushes what is pending and withdraws
// this router's in-flight counts; it closes the client only when OpenRedis
// made it. Close is idempotent.
func (r *Redis) Close() error {
	var err error
	r.closing.Do(func() {
		r.cancel()
		<-r.done
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		r.sync.mu.Lock()
		r.sync.closed = true
		_ = r.flush(ctx) // best effort: Redis may be the reason for closing
		r.sync.mu.Unlock()
		if r.ownClient {
			err = r.rdb.Close()
		}
	})
	return err
}
