package memory

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisBucket is a Bucket in Redis, shared by every router that uses the
// same Redis. Each record is a hash {v: value, r: revision} under
// prefix+key, which expires ttl after its last write.
type RedisBucket struct {
	client redis.UniversalClient
	prefix string
	ttl    time.Duration
}

var _ Bucket = (*RedisBucket)(nil)

// NewRedisBucket returns a bucket of client's keys under prefix (such as
// "tr:mem:"), each kept ttl after its last write.
func NewRedisBucket(client redis.UniversalClient, prefix string, ttl time.Duration) *RedisBucket {
	return &RedisBucket{client: client, prefix: prefix, ttl: ttl}
}

// putScript writes KEYS[1] when its revision is ARGV[2] ("0": absent),
// sets the next revision and the time to live (ARGV[3] ms), and returns
// the new revision, or -1 on a conflict.
var putScript = redis.NewScript(`
local r = redis.call('HGET', KEYS[1], 'r')
if (r or '0') ~= ARGV[2] then return -1 end
local n = tonumber(ARGV[2]) + 1
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'r', n)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return n
`)

// Get implements Reader.
func (b *RedisBucket) Get(ctx context.Context, key string) ([]byte, uint64, error) {
	vals, revs, err := b.GetMany(ctx, []string{key})
	if err != nil {
		return nil, 0, err
	}
	if vals[0] == nil {
		return nil, 0, ErrNotFound
	}
	return vals[0], revs[0], nil
}

// GetMany implements Reader, in one round trip.
func (b *RedisBucket) GetMany(ctx context.Context, keys []string) ([][]byte, []uint64, error) {
	cmds := make([]*redis.SliceCmd, len(keys))
	_, err := b.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.HMGet(ctx, b.prefix+k, "v", "r")
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, nil, redisErr("reading", err)
	}
	vals, revs := make([][]byte, len(keys)), make([]uint64, len(keys))
	for i, c := range cmds {
		f := c.Val()
		if len(f) != 2 || f[0] == nil || f[1] == nil {
			continue
		}
		v, _ := f[0].(string)
		r, _ := f[1].(string)
		vals[i] = []byte(v)
		revs[i], _ = strconv.ParseUint(r, 10, 64)
	}
	return vals, revs, nil
}

// Put implements Writer.
func (b *RedisBucket) Put(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	n, err := putScript.Run(ctx, b.client, []string{b.prefix + key}, value, strconv.FormatUint(rev, 10), b.ttl.Milliseconds()).Int64()
	if err != nil {
		return 0, redisErr("writing", err)
	}
	if n < 0 {
		return 0, fmt.Errorf("writing %s at revision %d: %w", key, rev, ErrConflict)
	}
	return uint64(n), nil
}

// Delete implements Writer.
func (b *RedisBucket) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = b.prefix + k
	}
	if err := b.client.Del(ctx, full...).Err(); err != nil {
		return redisErr("deleting", err)
	}
	return nil
}

func redisErr(doing string, err error) error {
	return fmt.Errorf("%s memory in Redis: %w: %w", doing, ErrUnavailable, err)
}
