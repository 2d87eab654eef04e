--[[ clear.lua
  Remove every waiting job of one queue, pending and delayed, so their records can be marked
  cancelled (none is left "queued" in the database with nothing in Redis).

  KEYS
    1  meta
    2  delayed
  ARGV
    1  prefix    the key prefix (hash tag) of the pending sets
    2  queue
  Returns
    the ids of the removed jobs
]]
--- @include "job_meta"
--- @include "pending"

local queue = ARGV[2]
local key = pending_key(ARGV[1], queue)
local removed = redis.call('ZRANGE', key, 0, -1)
redis.call('DEL', key)
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local meta = read_meta(KEYS[1], id)
  if meta and meta.q == queue then
    redis.call('ZREM', KEYS[2], id)
    removed[#removed + 1] = id
  end
end
for _, id in ipairs(removed) do
  redis.call('HDEL', KEYS[1], id)
end
return removed
