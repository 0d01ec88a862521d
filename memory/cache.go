package memory

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
	"unsafe"

	"github.com/redis/go-redis/v9"
	"github.com/tidwall/gjson"

	"github.com/taskrouter/taskrouter/task"
)

// Cache keeps the answers of deterministic steps, by CacheKey.
type Cache interface {
	// Get returns the answer kept under key, and false when there is none.
	Get(ctx context.Context, key string) (task.Output, bool, error)
	// Put keeps an answer under key; one larger than the cache takes is
	// not kept, and that is no error.
	Put(ctx context.Context, key string, out task.Output) error
}

// CacheConfig bounds a cache: how long an answer is kept (1h), how many
// answers (10000) and how large one may be (256 KiB).
type CacheConfig struct {
	TTL        time.Duration
	MaxEntries int
	MaxBytes   int
}

func (c CacheConfig) withDefaults() CacheConfig {
	if c.TTL <= 0 {
		c.TTL = time.Hour
	}
	if c.MaxEntries <= 0 {
		c.MaxEntries = 10000
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = 256 << 10
	}
	return c
}

// cacheKeyOf is what a step's answer depends on: the model, what it is
// asked (capability, input, arguments, context, tools, a caller's own
// body) and how it samples. Ids, attempts, deadlines and trace context
// are left out.
type cacheKeyOf struct {
	Owner      string            `json:"o"`
	Model      string            `json:"m"`
	Capability string            `json:"c"`
	Input      string            `json:"i"`
	Args       map[string]string `json:"a,omitempty"`
	Context    []task.Message    `json:"x,omitempty"`
	Sampling   *task.Sampling    `json:"s,omitempty"`
	Tools      *task.Tools       `json:"t,omitempty"`
	After      []task.Message    `json:"f,omitempty"`
	Body       json.RawMessage   `json:"b,omitempty"`
	API        string            `json:"p,omitempty"`
}

// CacheKey is the key of a step's answer, for one owner: answers are not
// shared across API keys, so that nobody learns by its speed what
// another key asked.
func CacheKey(owner string, w task.Work) string {
	data, _ := json.Marshal(cacheKeyOf{Owner: owner, Model: w.Model, Capability: w.Capability, Input: w.Input, Args: w.Args,
		Context: w.Context, Sampling: w.Sampling, Tools: w.Tools, After: w.After, Body: w.Body, API: w.API})
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Deterministic reports whether the same work on the model always gets
// the same answer, so that it may be cached: a built-in model's, and a
// remote model's at temperature 0 or with a seed. A caller's own body
// says so itself, and one that streams is never cached: its answer is
// the stream.
func Deterministic(spec task.ModelSpec, w task.Work) bool {
	if spec.Backend == task.BackendLocal {
		return true
	}
	if len(w.Body) > 0 {
		return deterministicBody(w.Body)
	}
	s := w.Sampling
	return s != nil && (s.Temperature != nil && *s.Temperature == 0 || s.Seed != nil)
}

// deterministicBody reports whether a caller's body asks for a
// deterministic answer: valid JSON that does not stream, at temperature 0
// or with a seed. Most bodies do not, which one pass over the top-level
// keys tells; only one that does is then validated whole. Of a key given
// twice the first counts, as for gjson.Get.
func deterministicBody(body []byte) bool {
	var stream, temperature, seed gjson.Result
	// Read in place: nothing read outlives the call.
	gjson.Parse(unsafe.String(unsafe.SliceData(body), len(body))).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "stream":
			if !stream.Exists() {
				stream = v
			}
		case "temperature":
			if !temperature.Exists() {
				temperature = v
			}
		case "seed":
			if !seed.Exists() {
				seed = v
			}
		}
		return true
	})
	if stream.Bool() || !(temperature.Type == gjson.Number && temperature.Num == 0 || seed.Type == gjson.Number) {
		return false
	}
	return gjson.ValidBytes(body)
}

// LocalCache is a Cache in this process: least recently used answers go
// first once it holds MaxEntries.
type LocalCache struct {
	cfg   CacheConfig
	mu    sync.Mutex
	order *list.List // of *localEntry, most recent first
	byKey map[string]*list.Element
}

type localEntry struct {
	key     string
	out     task.Output
	expires time.Time
}

var _ Cache = (*LocalCache)(nil)

// NewLocalCache returns an empty cache in this process.
func NewLocalCache(cfg CacheConfig) *LocalCache {
	return &LocalCache{cfg: cfg.withDefaults(), order: list.New(), byKey: map[string]*list.Element{}}
}

// Get implements Cache.
func (c *LocalCache) Get(_ context.Context, key string) (task.Output, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return task.Output{}, false, nil
	}
	e := el.Value.(*localEntry)
	if time.Now().After(e.expires) {
		c.order.Remove(el)
		delete(c.byKey, key)
		return task.Output{}, false, nil
	}
	c.order.MoveToFront(el)
	return e.out, true, nil
}

// Put implements Cache.
func (c *LocalCache) Put(_ context.Context, key string, out task.Output) error {
	if size(out) > c.cfg.MaxBytes {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := &localEntry{key: key, out: out, expires: time.Now().Add(c.cfg.TTL)}
	if el, ok := c.byKey[key]; ok {
		el.Value = e
		c.order.MoveToFront(el)
		return nil
	}
	c.byKey[key] = c.order.PushFront(e)
	for c.order.Len() > c.cfg.MaxEntries {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*localEntry).key)
	}
	return nil
}

func size(out task.Output) int { return len(out.Text) + len(out.Body) + len(out.ToolCalls) }

// RedisCache is a Cache in Redis, shared by the routers that use it. Each
// answer is a key prefix+hash that expires after TTL; a sorted set
// prefix+"index" orders them by age, and the oldest go once there are
// more than MaxEntries.
type RedisCache struct {
	client redis.UniversalClient
	prefix string
	cfg    CacheConfig
}

var _ Cache = (*RedisCache)(nil)

// NewRedisCache returns a cache in client's keys under prefix (such as
// "tr:cache:").
func NewRedisCache(client redis.UniversalClient, prefix string, cfg CacheConfig) *RedisCache {
	return &RedisCache{client: client, prefix: prefix, cfg: cfg.withDefaults()}
}

// cachePut sets KEYS[1] to ARGV[1] for ARGV[2] ms, notes it in the index
// KEYS[2] at time ARGV[3], forgets index entries older than the TTL, and
// deletes the oldest answers past ARGV[4].
var cachePut = redis.NewScript(`
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], KEYS[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[3]) - tonumber(ARGV[2]))
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4])
if over > 0 then
  local old = redis.call('ZRANGE', KEYS[2], 0, over - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, over - 1)
  redis.call('DEL', unpack(old))
end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
`)

// Get implements Cache.
func (c *RedisCache) Get(ctx context.Context, key string) (task.Output, bool, error) {
	data, err := c.client.Get(ctx, c.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return task.Output{}, false, nil
	}
	if err != nil {
		return task.Output{}, false, fmt.Errorf("reading the answer cache in Redis: %w", err)
	}
	var out task.Output
	if err := json.Unmarshal(data, &out); err != nil {
		return task.Output{}, false, fmt.Errorf("decoding a cached answer: %w", err)
	}
	return out, true, nil
}

// Put implements Cache.
func (c *RedisCache) Put(ctx context.Context, key string, out task.Output) error {
	if size(out) > c.cfg.MaxBytes {
		return nil
	}
	data, err := json.Marshal(out)
	if err != nil {
		return err
	}
	now := time.Now().UnixMilli()
	err = cachePut.Run(ctx, c.client, []string{c.prefix + key, c.prefix + "index"},
		data, c.cfg.TTL.Milliseconds(), now, c.cfg.MaxEntries).Err()
	if err != nil {
		return fmt.Errorf("writing the answer cache in Redis: %w", err)
	}
	return nil
}
