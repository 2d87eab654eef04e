-- Give back a claimed job that could not start yet (its exclusive lock is taken) without spending
-- an attempt: the attempt counter goes back down and the job waits in the delayed set until due_ms.
-- Only the holder of the lease may do this.
-- KEYS: meta, processing, inflight, delayed
-- ARGV: id, attempt, due_ms
local id = ARGV[1]
local raw = redis.call('HGET', KEYS[1], id)
if not raw or not redis.call('ZSCORE', KEYS[2], id) then return 0 end
local meta = cjson.decode(raw)
if meta.a ~= tonumber(ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[2], id)
redis.call('HINCRBY', KEYS[3], meta.q, -1)
meta.a = meta.a - 1
redis.call('HSET', KEYS[1], id, cjson.encode(meta))
redis.call('ZADD', KEYS[4], tonumber(ARGV[3]), id)
return 1
