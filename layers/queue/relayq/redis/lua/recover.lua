--[[ recover.lua
  Take over the jobs whose lease expired (their worker died or overran, never started the job, or
  never heard the answer of its claim): each is leased again, to the caller, under a new token and
  for its timeout plus grace_ms, so the worker that held it can change nothing any more and no other
  worker claims it while the caller brings its record in line and then gives it back (retry.lua)
  or drops it (finish.lua). A caller that dies meanwhile lets this lease expire in turn.

  KEYS
    1  processing
    2  meta
  ARGV
    1  now_ms
    2  limit
    3  grace_ms   added to a job's timeout for the new lease deadline
  Returns
    a flat list of pairs id, token (the caller's leases); an expired lease of a job Redis no longer
    knows is removed and not listed
]]
--- @include "job_meta"
--- @include "lease"

local now, grace = tonumber(ARGV[1]), tonumber(ARGV[3])
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, id in ipairs(expired) do
  local meta = read_meta(KEYS[2], id)
  if not meta then
    redis.call('ZREM', KEYS[1], id)
  else
    out[#out + 1] = id
    out[#out + 1] = take_lease(KEYS[2], KEYS[1], id, meta, now + meta.t * 1000 + grace)
  end
end
return out
