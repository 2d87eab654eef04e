-- A worker invocation stops running on its queue set (it may begin again) and leaves its summary.
-- KEYS: workers, status, then running:<queue> for each queue
-- ARGV: invocation id, now_ms, status_ttl_s, summary (JSON)
local id = ARGV[1]
redis.call('ZREM', KEYS[1], id)
for i = 3, #KEYS do
  redis.call('ZREM', KEYS[i], id)
end
redis.call('HSET', KEYS[2], 'last_finished', ARGV[2], 'last_summary', ARGV[4])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]))
return 1
