-- Decide whether a new job should start a worker for its queue: not when a worker is running on
-- the queue (it will see the job), not when a kick of the last debounce_ms is still on its way.
-- Returns 1 for the one caller of a burst that should invoke the worker.
-- KEYS: running:<queue>, kick:<queue>
-- ARGV: now_ms, debounce_ms
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) > 0 then return 0 end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', tonumber(ARGV[2])) then return 1 end
return 0
