--[[ worker_begin.lua
  A worker invocation starts on a queue set: it is listed as running (until its deadline, so a
  crashed worker drops out by itself) for each of its queues and overall, pending kicks of those
  queues are done (it is the worker they asked for), and the last run time is noted. The queues'
  keys are built here from the prefix, so a call carries the same few arguments for any number of
  queues (a request carries at most 3,999).

  KEYS
    1  workers            the running set of all workers (includes/running.lua)
    2  status             hash: last_run, last_queues (and last_finished, last_summary)
  ARGV
    1  invocation id
    2  deadline_ms
    3  now_ms
    4  status_ttl_s
    5  queues (JSON array): their <prefix>running:<queue> and <prefix>kick:<queue> keys
    6  prefix        the key prefix (hash tag)
  Returns
    1
]]
--- @include "running"

local id, deadline, now, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
mark_running(KEYS[1], id, deadline, now)
for _, queue in ipairs(cjson.decode(ARGV[5])) do
  mark_running(queue_running_key(ARGV[6], queue), id, deadline, now)
  redis.call('DEL', ARGV[6] .. 'kick:' .. queue)
end
redis.call('HSET', KEYS[2], 'last_run', now, 'last_queues', ARGV[5])
redis.call('EXPIRE', KEYS[2], ttl)
return 1
