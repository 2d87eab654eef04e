-- A worker invocation starts on a queue set: it is listed as running (until its deadline, so a
-- crashed worker drops out by itself) for each of its queues and overall, pending kicks of those
-- queues are done (it is the worker they asked for), and the last run time is noted.
-- KEYS: workers, status, then for each queue: running:<queue>, kick:<queue>
-- ARGV: invocation id, deadline_ms, now_ms, status_ttl_s, queues (JSON array)
local id, deadline, now, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], deadline, id)
redis.call('PEXPIRE', KEYS[1], math.max(1, deadline - now))
for i = 3, #KEYS, 2 do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  redis.call('ZADD', KEYS[i], deadline, id)
  redis.call('PEXPIRE', KEYS[i], math.max(1, deadline - now))
  redis.call('DEL', KEYS[i + 1])
end
redis.call('HSET', KEYS[2], 'last_run', now, 'last_queues', ARGV[5])
redis.call('EXPIRE', KEYS[2], ttl)
return 1
