--[[ cron_hold.lua
  Take or extend the cron lock for a run that starts or goes on (a queued run job, each batch),
  and drop the run's queued mark: from now on the lock, not the mark, keeps other runs out.

  KEYS
    1  lock
    2  queued
  ARGV
    1  run_id
    2  lock_ms
  Returns
    0     this run holds the lock (for lock_ms from now)
    > 0   another run holds it: its remaining ms (at least 1)
]]
--- @include "owned_key"

local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
  return math.max(1, redis.call('PTTL', KEYS[1]))
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
delete_if_owned(KEYS[2], ARGV[1])
return 0
