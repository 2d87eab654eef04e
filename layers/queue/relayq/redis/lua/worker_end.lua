--[[ worker_end.lua
  A worker invocation stops running on its queue set (it may begin again) and leaves its summary.

  KEYS
    1  workers     the running set of all workers (includes/running.lua)
    2  status      hash: last_finished, last_summary (and last_run, last_queues)
    3.. running:<queue> for each queue
  ARGV
    1  invocation id
    2  now_ms
    3  status_ttl_s
    4  summary (JSON)
  Returns
    1
]]
local id = ARGV[1]
redis.call('ZREM', KEYS[1], id)
for i = 3, #KEYS do
  redis.call('ZREM', KEYS[i], id)
end
redis.call('HSET', KEYS[2], 'last_finished', ARGV[2], 'last_summary', ARGV[4])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]))
return 1
