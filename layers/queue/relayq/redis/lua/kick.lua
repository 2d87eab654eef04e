--[[ kick.lua
  Decide whether a new job should start a worker for its queue: not when a worker is running on
  the queue (it will see the job), not when a kick of the last debounce_ms is still on its way.

  KEYS
    1  running:<queue>   the queue's running set (includes/running.lua)
    2  kick:<queue>      the mark of the last kick, expiring after debounce_ms
  ARGV
    1  now_ms
    2  debounce_ms
  Returns
    1  the one caller of a burst that should invoke the worker (the kick mark is now set)
    0  no invoke: a worker runs on the queue or was just kicked
]]
--- @include "running"

prune_running(KEYS[1], ARGV[1])
if redis.call('ZCARD', KEYS[1]) > 0 then return 0 end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', tonumber(ARGV[2])) then return 1 end
return 0
