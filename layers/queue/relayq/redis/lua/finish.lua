--[[ finish.lua
  End a job's life in Redis (completed, or failed for good) if the caller still holds its lease.

  KEYS
    1  meta
    2  processing
    3  inflight
  ARGV
    1  id
    2  token     the caller's lease token
  Returns
    1  OK: the job is gone from Redis
    0  NO_SUCH_JOB, -1 NOT_LEASED, -2 STALE_ATTEMPT: nothing changed (includes/codes.lua)
]]
--- @include "codes"
--- @include "lease"

local meta, refused = held_lease(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
if not meta then return refused end
drop_lease(KEYS[2], KEYS[3], ARGV[1], meta.q)
redis.call('HDEL', KEYS[1], ARGV[1])
return OK
