--[[ recover.lua
  Find jobs whose lease expired (their worker died or overran) and either put them back in their
  queue (attempts left) or drop them from Redis as failed, so the caller can bring the job records
  in line.

  KEYS
    1  processing
    2  meta
    3  inflight
    4  seq
  ARGV
    1  prefix    the key prefix (hash tag) of the pending sets
    2  now_ms
    3  limit
  Returns
    a flat list of triples id, attempt, outcome ('retry': queued again, 'failed': dropped); an
    expired lease of a job Redis no longer knows is removed and not listed
]]
--- @include "job_meta"
--- @include "lease"
--- @include "pending"

local prefix = ARGV[1]
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(expired) do
  local meta = read_meta(KEYS[2], id)
  if not meta then
    redis.call('ZREM', KEYS[1], id)
  else
    drop_lease(KEYS[1], KEYS[3], id, meta.q)
    local outcome = 'failed'
    if meta.a < meta.m then
      outcome = 'retry'
      add_pending(prefix, meta.q, meta.p, id, KEYS[4])
    else
      redis.call('HDEL', KEYS[2], id)
    end
    out[#out + 1] = id
    out[#out + 1] = meta.a
    out[#out + 1] = outcome
  end
end
return out
