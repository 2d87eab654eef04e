--[[ reconcile_due.lua
  Whether this worker tick should reconcile the job records with Redis, decided once for all
  workers: after Redis lost its data ('restart': the epoch key, written once and never expiring,
  is gone; also the first tick of a new deployment), else once per interval ('schedule': the first
  tick that finds the due mark expired sets it again).

  KEYS
    1  epoch     written once with the time Redis was first seen with this deployment's data
    2  due       set while the next scheduled reconciliation must wait
  ARGV
    1  now_ms
    2  interval_ms   0: no scheduled reconciliation (a restart is still noticed)
  Returns
    'restart' | 'schedule' | '' (nothing due)
]]
local interval = tonumber(ARGV[2])
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  if interval > 0 then redis.call('SET', KEYS[2], ARGV[1], 'PX', interval) end
  return 'restart'
end
if interval > 0 and redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', interval) then
  return 'schedule'
end
return ''
