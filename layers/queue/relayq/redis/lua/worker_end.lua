--[[ worker_end.lua
  A worker invocation stops running on its queue set (it may begin again) and leaves its summary.
  The queues' keys are built here from the prefix, as worker_begin.lua does.

  KEYS
    1  workers     the running set of all workers (includes/running.lua)
    2  status      hash: last_finished, last_summary (and last_run, last_queues)
  ARGV
    1  invocation id
    2  now_ms
    3  status_ttl_s
    4  summary (JSON)
    5  queues (JSON array): their <prefix>running:<queue> keys
    6  prefix        the key prefix (hash tag)
  Returns
    1
]]
--- @include "running"

local id = ARGV[1]
redis.call('ZREM', KEYS[1], id)
for _, queue in ipairs(cjson.decode(ARGV[5])) do
  redis.call('ZREM', queue_running_key(ARGV[6], queue), id)
end
redis.call('HSET', KEYS[2], 'last_finished', ARGV[2], 'last_summary', ARGV[4])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]))
return 1
