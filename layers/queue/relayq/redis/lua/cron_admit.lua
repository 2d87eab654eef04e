-- Admit a cron run, or say why not, in one step: a run already queued (a deferred trigger joins
-- it), a run holding the lock or queued (409), the cooldown after the last run (429), else take
-- the lock (sync run) or the queued mark (deferred run) for this run id.
-- KEYS: lock, queued, cooldown
-- ARGV: mode ('sync' | 'defer'), run_id, lock_ms, queued_ms
-- Returns {'admitted', run_id} | {'coalesced', queued_run_id} | {'locked', holder, pttl_ms}
--       | {'rate_limited', pttl_ms}
local mode, run_id = ARGV[1], ARGV[2]
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
local wait = redis.call('PTTL', KEYS[3])
if wait > 0 then
  return { 'rate_limited', wait }
end
if mode == 'defer' then
  redis.call('SET', KEYS[2], run_id, 'PX', ARGV[4])
else
  redis.call('SET', KEYS[1], run_id, 'PX', ARGV[3])
end
return { 'admitted', run_id }
