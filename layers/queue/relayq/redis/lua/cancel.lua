-- Take a waiting job (pending or delayed) out of Redis. Returns 1 if it was waiting, 0 if it is
-- being processed or unknown (a job in flight is not pulled from under its worker).
-- KEYS: meta, delayed
-- ARGV: prefix, id
local raw = redis.call('HGET', KEYS[1], ARGV[2])
if not raw then return 0 end
local meta = cjson.decode(raw)
local removed = redis.call('ZREM', ARGV[1] .. 'pending:' .. meta.q, ARGV[2]) + redis.call('ZREM', KEYS[2], ARGV[2])
if removed == 0 then return 0 end
redis.call('HDEL', KEYS[1], ARGV[2])
return 1
