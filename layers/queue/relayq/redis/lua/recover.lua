-- Find jobs whose lease expired (their worker died or overran) and either put them back in their
-- queue (attempts left) or drop them from Redis as failed. Returns id, attempt, outcome triples so
-- the caller can bring the job records in line.
-- KEYS: processing, meta, inflight, seq
-- ARGV: prefix, now_ms, limit
local prefix = ARGV[1]
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[1], id)
  local raw = redis.call('HGET', KEYS[2], id)
  if raw then
    local meta = cjson.decode(raw)
    redis.call('HINCRBY', KEYS[3], meta.q, -1)
    local outcome = 'failed'
    if meta.a < meta.m then
      outcome = 'retry'
      redis.call('ZADD', prefix .. 'pending:' .. meta.q, meta.p * 1099511627776 + redis.call('INCR', KEYS[4]), id)
    else
      redis.call('HDEL', KEYS[2], id)
    end
    out[#out + 1] = id
    out[#out + 1] = meta.a
    out[#out + 1] = outcome
  end
end
return out
