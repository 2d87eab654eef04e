-- Move delayed jobs that are due into their queues' pending sets (at most ARGV[3] per call).
-- KEYS: delayed, meta, seq
-- ARGV: prefix, now_ms, limit
local prefix = ARGV[1]
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[1], id)
  local raw = redis.call('HGET', KEYS[2], id)
  if raw then
    local meta = cjson.decode(raw)
    redis.call('ZADD', prefix .. 'pending:' .. meta.q, meta.p * 1099511627776 + redis.call('INCR', KEYS[3]), id)
  end
end
return #due
