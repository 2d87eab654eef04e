-- End a job's life in Redis (completed, or failed for good) if the caller still holds its lease:
-- the job is in the processing set and its attempt counter matches the caller's.
-- KEYS: meta, processing, inflight
-- ARGV: id, attempt
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw or not redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 0 end
local meta = cjson.decode(raw)
if meta.a ~= tonumber(ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HINCRBY', KEYS[3], meta.q, -1)
return 1
