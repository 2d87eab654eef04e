--[[ record_jobs.lua
  Remember finished attempts for status and metrics, bounded: cumulative counters per outcome,
  queue and type; the last durations per type (for percentiles); per-minute throughput per queue
  (kept 65 minutes); the most recent jobs.

  KEYS
    1  counters   hash: <status>|<queue>|<type>, duration_sum|<type>, duration_count|<type>
    2  recent     list of the most recent entries (JSON, with their time as at)
  ARGV
    1  prefix           the key prefix (hash tag) of the durations and throughput keys
    2  now_ms
    3  status_ttl_s
    4  keep_recent
    5  keep_durations   per type
    6  entries (JSON array of {id, type, queue, status, ms})
  Returns
    1
]]
local prefix, now, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local keep_recent, keep_durations = tonumber(ARGV[4]), tonumber(ARGV[5])
local minute = prefix .. 'throughput:' .. math.floor(now / 60000)
for _, e in ipairs(cjson.decode(ARGV[6])) do
  redis.call('HINCRBY', KEYS[1], e.status .. '|' .. e.queue .. '|' .. e.type, 1)
  redis.call('HINCRBYFLOAT', KEYS[1], 'duration_sum|' .. e.type, e.ms / 1000)
  redis.call('HINCRBY', KEYS[1], 'duration_count|' .. e.type, 1)
  local durations = prefix .. 'durations:' .. e.type
  redis.call('LPUSH', durations, e.ms)
  redis.call('LTRIM', durations, 0, keep_durations - 1)
  redis.call('EXPIRE', durations, ttl)
  redis.call('HINCRBY', minute, e.queue, 1)
  e.at = now
  redis.call('LPUSH', KEYS[2], cjson.encode(e))
end
redis.call('EXPIRE', minute, 3900)
redis.call('LTRIM', KEYS[2], 0, keep_recent - 1)
redis.call('EXPIRE', KEYS[2], ttl)
return 1
