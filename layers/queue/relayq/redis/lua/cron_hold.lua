-- Take or extend the cron lock for a run that starts or goes on (a queued run job, each batch),
-- and drop the run's queued mark: from now on the lock, not the mark, keeps other runs out.
-- KEYS: lock, queued
-- ARGV: run_id, lock_ms
-- Returns 0 when this run holds the lock, else the other holder's remaining ms (at least 1).
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
  return math.max(1, redis.call('PTTL', KEYS[1]))
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
end
return 0
