--[[ promote.lua
  Move delayed jobs that are due into their queues' pending sets, at most limit per call.

  KEYS
    1  delayed
    2  meta
    3  seq
  ARGV
    1  prefix    the key prefix (hash tag) of the pending sets
    2  now_ms
    3  limit
  Returns
    how many due jobs left the delayed set (one Redis no longer knew is dropped, not queued)
]]
--- @include "job_meta"
--- @include "pending"

local prefix = ARGV[1]
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[1], id)
  local meta = read_meta(KEYS[2], id)
  if meta then
    add_pending(prefix, meta.q, meta.p, id, KEYS[3])
  end
end
return #due
