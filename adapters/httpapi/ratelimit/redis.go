package ratelimit

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/redis/go-redis/v9"
)

// takeScript refills and takes from one bucket atomically. It reads the
// clock of the Redis server, so routers with skewed clocks share one
// timeline. KEYS[1] is the bucket; ARGV is rate (tokens/s) and burst. It
// returns {allowed (0/1), milliseconds until a token}.
var takeScript = redis.NewScript(`
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1])
local at = tonumber(b[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
if now > at then
  tokens = math.min(burst, tokens + (now - at) * rate / 1000)
  at = now
end
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {allowed, wait}
`)

// Redis keeps buckets in Redis, shared by every router using the same
// prefix. Callers are stored under the prefix as given: pass a hash, never
// a secret.
type Redis struct {
	client redis.Scripter
	limit  Limit
	prefix string
}

var _ Limiter = (*Redis)(nil)

// NewRedis returns a limiter over client; keys are prefix + caller.
func NewRedis(client redis.Scripter, prefix string, l Limit) (*Redis, error) {
	if l.Check() != nil {
		return nil, invalid(l)
	}
	return &Redis{client: client, limit: l, prefix: prefix}, nil
}

// Take implements Limiter. It fails when Redis cannot be reached; the
// caller decides whether that lets requests through.
func (r *Redis) Take(ctx context.Context, caller string) (Decision, error) {
	res, err := takeScript.Run(ctx, r.client, []string{r.prefix + caller}, r.limit.Rate, r.limit.Burst).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("taking a rate-limit token from Redis: %w", err)
	}
	if len(res) != 2 {
		return Decision{}, fmt.Errorf("taking a rate-limit token from Redis: the script returned %d values", len(res))
	}
	if res[0] == 1 {
		return Decision{Allowed: true}, nil
	}
	wait := time.Duration(min(res[1], math.MaxInt32)) * time.Millisecond
	return Decision{RetryAfter: wait}, nil
}
