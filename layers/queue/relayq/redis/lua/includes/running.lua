--[[ includes/running.lua
  A running set: the worker invocations running (on one queue, or overall) scored by their
  deadline, so an invocation that crashed drops out by itself once its deadline has passed.
]]

-- The running set of one queue (Keys.named("running", queue) on the host).
local function queue_running_key(prefix, queue)
  return prefix .. 'running:' .. queue
end

-- Forget invocations whose deadline has passed.
local function prune_running(key, now)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
end

-- List an invocation as running until its deadline; the set expires at the deadline of the one
-- listed last.
local function mark_running(key, id, deadline, now)
  prune_running(key, now)
  redis.call('ZADD', key, deadline, id)
  redis.call('PEXPIRE', key, math.max(1, deadline - now))
end
