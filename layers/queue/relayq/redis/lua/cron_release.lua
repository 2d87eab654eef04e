--[[ cron_release.lua
  A run ends (or never started): drop its lock and queued mark if they are still its own, and
  start the cooldown before the next run.

  KEYS
    1  lock
    2  queued
    3  cooldown
  ARGV
    1  run_id
    2  cooldown_ms   0: no cooldown (e.g. nothing was cron'd)
  Returns
    1
]]
--- @include "owned_key"

delete_if_owned(KEYS[1], ARGV[1])
delete_if_owned(KEYS[2], ARGV[1])
if tonumber(ARGV[2]) > 0 then
  redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[2])
end
return 1
