-- Give a job back for another attempt, if the caller still holds its lease: into the delayed set
-- when it is due later, straight into its pending set otherwise.
-- KEYS: meta, processing, inflight, delayed, seq
-- ARGV: prefix, id, attempt, due_ms, now_ms
local prefix, id = ARGV[1], ARGV[2]
local raw = redis.call('HGET', KEYS[1], id)
if not raw or not redis.call('ZSCORE', KEYS[2], id) then return 0 end
local meta = cjson.decode(raw)
if meta.a ~= tonumber(ARGV[3]) then return 0 end
redis.call('ZREM', KEYS[2], id)
redis.call('HINCRBY', KEYS[3], meta.q, -1)
local due = tonumber(ARGV[4])
if due > tonumber(ARGV[5]) then
  redis.call('ZADD', KEYS[4], due, id)
else
  redis.call('ZADD', prefix .. 'pending:' .. meta.q, meta.p * 1099511627776 + redis.call('INCR', KEYS[5]), id)
end
return 1
