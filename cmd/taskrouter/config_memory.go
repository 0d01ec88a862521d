package main

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/taskrouter/taskrouter/adapters/httpapi"
	"github.com/taskrouter/taskrouter/memory"
	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/telemetry/metrics"
)

// MemoryConfig is conversations' memory and the cache of deterministic
// answers. Both live in Redis when redis.url is set, so that every router
// sees them; otherwise memory is in a NATS key-value bucket
// (taskrouter_memory: the embedded server's data directory, or the NATS
// of nats.url) and the cache in this process.
type MemoryConfig struct {
	Enabled bool `yaml:"enabled"`
	// TTL is how long a conversation's records live after their last write.
	TTL      time.Duration `yaml:"ttl"`
	MaxTurns int           `yaml:"max_turns"`
	// Window is how many recent turns go to a model verbatim.
	Window int `yaml:"window"`
	// Recall is how many earlier turns may be recalled into a request.
	Recall int               `yaml:"recall"`
	Cache  AnswerCacheConfig `yaml:"cache"`
}

// AnswerCacheConfig bounds the cache of deterministic answers.
type AnswerCacheConfig struct {
	Enabled       bool          `yaml:"enabled"`
	TTL           time.Duration `yaml:"ttl"`
	MaxEntries    int           `yaml:"max_entries"`
	MaxEntryBytes int           `yaml:"max_entry_bytes"`
}

// Where memory keeps its records.
const (
	memoryBucket      = "taskrouter_memory"
	memoryRedisPrefix = "tr:mem:"
	cacheRedisPrefix  = "tr:cache:"
)

func defaultMemoryConfig() MemoryConfig {
	return MemoryConfig{Enabled: true, TTL: 30 * 24 * time.Hour, MaxTurns: 2000, Window: 20, Recall: 3,
		Cache: AnswerCacheConfig{Enabled: true, TTL: time.Hour, MaxEntries: 10000, MaxEntryBytes: 256 << 10}}
}

func (c MemoryConfig) validate(bad func(string, ...any)) {
	if c.TTL < time.Minute {
		bad("memory.ttl: %s must be at least 1m, such as 720h", c.TTL)
	}
	if c.MaxTurns < 2 || c.Window < 1 || c.Recall < 0 {
		bad("memory: max_turns must be at least 2, window at least 1, and recall not negative")
	}
	if k := c.Cache; k.TTL <= 0 || k.MaxEntries < 1 || k.MaxEntryBytes < 1 {
		bad("memory.cache: ttl must be a positive duration such as 1h, and max_entries and max_entry_bytes positive")
	}
}

// openMemory opens conversations' memory and the answer cache, as the
// config says; nil for what is off. Without Redis and without JetStream
// on the NATS, memory is off, with a warning.
func (a *app) openMemory(ctx context.Context) (*memory.Memory, memory.Cache, error) {
	mc := a.cfg.Memory
	var client *redis.Client
	if a.cfg.Redis.URL != "" && (mc.Enabled || mc.Cache.Enabled) {
		opts, err := redisOptions(a.cfg.Redis, a.getenv)
		if err != nil {
			return nil, nil, err
		}
		client = redis.NewClient(opts)
		a.closers = append(a.closers, client.Close)
	}
	var cache memory.Cache
	if k := mc.Cache; k.Enabled {
		cc := memory.CacheConfig{TTL: k.TTL, MaxEntries: k.MaxEntries, MaxBytes: k.MaxEntryBytes}
		cache = memory.NewLocalCache(cc)
		if client != nil {
			cache = memory.NewRedisCache(client, cacheRedisPrefix, cc)
		}
	}
	if !mc.Enabled {
		return nil, cache, nil
	}
	var b memory.Bucket
	if client != nil {
		b = memory.NewRedisBucket(client, memoryRedisPrefix, mc.TTL)
	} else {
		nc, err := a.bus.Connect("memory")
		if err != nil {
			return nil, nil, unavailableError{err}
		}
		octx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		nb, err := memory.OpenNATSBucket(octx, nc, memoryBucket, mc.TTL, a.cfg.NATS.Replicas)
		if err != nil {
			a.log.Warn("JetStream is unavailable and redis.url is not set; conversations are off", "err", err)
			return nil, cache, nil
		}
		b = nb
	}
	log := a.log
	m, err := memory.New(memory.Config{Bucket: b, TTL: mc.TTL, MaxTurns: mc.MaxTurns, Window: mc.Window, Recall: mc.Recall,
		OnEmbedError: func(err error) { log.Warn("embedding for memory failed; recall went by terms alone", "err", err) }})
	if err != nil {
		return nil, nil, fmt.Errorf("opening memory: %w", err)
	}
	return m, cache, nil
}

// conversations is the memory as the HTTP API serves it; nil when off.
func (a *app) conversations() httpapi.Conversations {
	if a.memory == nil {
		return nil
	}
	return a.memory
}

// routerMemory is the memory as the router takes it; nil when off.
func (a *app) routerMemory() router.Memory {
	if a.memory == nil {
		return nil
	}
	return a.memory
}

var _ router.MemoryMetrics = (*metrics.Metrics)(nil)
