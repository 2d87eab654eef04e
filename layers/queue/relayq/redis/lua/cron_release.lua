-- A run ends (or never started): drop its lock and queued mark if they are still its own, and
-- start the cooldown before the next run (cooldown_ms 0: none, e.g. nothing was cron'd).
-- KEYS: lock, queued, cooldown
-- ARGV: run_id, cooldown_ms
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
end
if tonumber(ARGV[2]) > 0 then
  redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[2])
end
return 1
