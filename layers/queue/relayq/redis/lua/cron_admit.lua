--[[ cron_admit.lua
  Admit a cron run, or say why not, in one step, in the plugin's order: the cooldown after the
  last run (429) first, then a run already queued (a deferred trigger joins it), a run holding
  the lock or queued (409), else take the lock (sync run) or the queued mark (deferred run).

  KEYS
    1  lock       the run id holding the cron lock
    2  queued     the run id of a deferred run not started yet
    3  cooldown   set while the next run must wait
  ARGV
    1  mode       'sync' | 'defer'
    2  run_id
    3  lock_ms
    4  queued_ms  how long a queued mark holds off other runs
  Returns
    {'admitted', run_id}              the lock (sync) or the queued mark (defer) is this run's
    {'coalesced', queued_run_id}      a deferred trigger joins the run already queued
    {'locked', holder, pttl_ms}       another run holds the lock or is queued
    {'rate_limited', pttl_ms}         the cooldown has pttl_ms to go
]]
local mode, run_id = ARGV[1], ARGV[2]
local wait = redis.call('PTTL', KEYS[3])
if wait > 0 then
  return { 'rate_limited', wait }
end
local queued = redis.call('GET', KEYS[2])
if queued and mode == 'defer' then
  return { 'coalesced', queued }
end
local holder = redis.call('GET', KEYS[1])
if holder then
  return { 'locked', holder, redis.call('PTTL', KEYS[1]) }
end
if queued then
  return { 'locked', queued, redis.call('PTTL', KEYS[2]) }
end
if mode == 'defer' then
  redis.call('SET', KEYS[2], run_id, 'PX', ARGV[4])
else
  redis.call('SET', KEYS[1], run_id, 'PX', ARGV[3])
end
return { 'admitted', run_id }
