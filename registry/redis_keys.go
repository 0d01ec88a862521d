package registry

import (
	"encoding/json"

	"github.com/redis/go-redis/v9"
)

// redisKeys are the Redis keys of one registry; README.md documents the
// schema. Every key is static, so scripts declare all they touch.
type redisKeys struct {
	specs, replicas, expiry, cooldowns, stats, inflight, epoch string
}

func newRedisKeys(prefix string) redisKeys {
	return redisKeys{
		specs:     prefix + "specs",
		replicas:  prefix + "replicas",
		expiry:    prefix + "replica-expiry",
		cooldowns: prefix + "cooldowns",
		stats:     prefix + "stats",
		inflight:  prefix + "inflight",
		epoch:     prefix + "epoch",
	}
}

func (k redisKeys) all() []string {
	return []string{k.specs, k.replicas, k.expiry, k.cooldowns, k.stats, k.inflight, k.epoch}
}

// replicaField is a replica's field in the replicas hash and member in the
// expiry set: the JSON array [model, id], unambiguous whatever the names hold.
func replicaField(model, id string) string {
	b, _ := json.Marshal([2]string{model, id})
	return string(b)
}

// luaNow is the server's clock in milliseconds: expiry times are all on it,
// so the routers' and executors' clocks need not agree.
const luaNow = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

// heartbeatScript stores a replica and its expiry, and the model's spec when
// given, so executors re-register after Redis loses its data.
// KEYS: specs, replicas, expiry, epoch.
// ARGV: field, replica JSON, ttl ms, model name or "", spec JSON, epoch.
var heartbeatScript = redis.NewScript(luaNow + `
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), ARGV[1])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], ARGV[4], ARGV[5]) end
redis.call('SET', KEYS[4], ARGV[6], 'NX')
return now
`)

// refreshScript drops expired replicas and routers and returns the whole
// registry: {now ms, epoch, specs, live replicas as (json, expiry ms)
// pairs, cooldowns, stats, in-flight}, hashes as flat field/value lists.
// KEYS: specs, replicas, expiry, cooldowns, stats, inflight, epoch.
// ARGV: epoch to set if there is none.
var refreshScript = redis.NewScript(luaNow + `
redis.call('SET', KEYS[7], ARGV[1], 'NX')
local dead = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
for _, f in ipairs(dead) do redis.call('HDEL', KEYS[2], f) end
if #dead > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now) end
local live = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. string.format('%d', now), '+inf', 'WITHSCORES')
local reps = {}
for i = 1, #live, 2 do
  local v = redis.call('HGET', KEYS[2], live[i])
  if v then reps[#reps + 1] = v; reps[#reps + 1] = live[i + 1] end
end
local inf = redis.call('HGETALL', KEYS[6])
for i = 1, #inf, 2 do
  local ok, v = pcall(cjson.decode, inf[i + 1])
  if not ok or type(v) ~= 'table' or (tonumber(v.expires_ms) or 0) <= now then
    redis.call('HDEL', KEYS[6], inf[i])
  end
end
return {now, redis.call('GET', KEYS[7]), redis.call('HGETALL', KEYS[1]), reps,
  redis.call('HGETALL', KEYS[4]), redis.call('HGETALL', KEYS[5]), redis.call('HGETALL', KEYS[6])}
`)

// flushScript pushes one router's batched counters: its in-flight counts,
// cooldowns it opened (kept only when they end later than the stored one)
// and outcome stats folded into the shared latency EWMA.
// KEYS: cooldowns, stats, inflight, epoch.
// ARGV: router id, in-flight models JSON ("" deletes, "-" leaves as is),
// in-flight ttl ms, epoch, EWMA alpha, number of cooldowns, then
// (model, remaining ms, period ms, failure code, reason, replica) per
// cooldown, then
// (model, calls, errors, latency samples, mean latency ms) per model.
var flushScript = redis.NewScript(luaNow + `
redis.call('SET', KEYS[4], ARGV[4], 'NX')
if ARGV[2] == '' then redis.call('HDEL', KEYS[3], ARGV[1])
elseif ARGV[2] ~= '-' then
  redis.call('HSET', KEYS[3], ARGV[1], '{"expires_ms":' .. string.format('%d', now + tonumber(ARGV[3])) .. ',"models":' .. ARGV[2] .. '}')
end
local alpha = tonumber(ARGV[5])
local i = 7
for _ = 1, tonumber(ARGV[6]) do
  local untilms = now + tonumber(ARGV[i + 1])
  local cur = 0
  local ok, v = pcall(cjson.decode, redis.call('HGET', KEYS[1], ARGV[i]) or '{}')
  if ok and type(v) == 'table' then cur = tonumber(v.until_ms) or 0 end
  if untilms > cur then
    redis.call('HSET', KEYS[1], ARGV[i], cjson.encode({until_ms = untilms, period_ms = tonumber(ARGV[i + 2]),
      code = ARGV[i + 3], reason = ARGV[i + 4], replica = ARGV[i + 5]}))
  end
  i = i + 6
end
while i + 4 <= #ARGV do
  local s = {latency_ewma_ms = 0, calls = 0, errors = 0}
  local ok, v = pcall(cjson.decode, redis.call('HGET', KEYS[2], ARGV[i]) or '{}')
  if ok and type(v) == 'table' then
    s.latency_ewma_ms = tonumber(v.latency_ewma_ms) or 0
    s.calls = tonumber(v.calls) or 0
    s.errors = tonumber(v.errors) or 0
  end
  s.calls = s.calls + tonumber(ARGV[i + 1])
  s.errors = s.errors + tonumber(ARGV[i + 2])
  local n, mean = tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4])
  if n > 0 then
    if s.latency_ewma_ms == 0 then s.latency_ewma_ms = mean
    else
      local keep = (1 - alpha) ^ n
      s.latency_ewma_ms = s.latency_ewma_ms * keep + mean * (1 - keep)
    end
  end
  redis.call('HSET', KEYS[2], ARGV[i], cjson.encode(s))
  i = i + 5
end
return now
`)
