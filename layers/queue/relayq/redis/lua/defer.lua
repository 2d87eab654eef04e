--[[ defer.lua
  Give back a claimed job that could not start yet (its exclusive lock is taken): it waits in the
  delayed set until due_ms (the record gives its attempt back; the token stays spent, so tokens
  only ever grow). Only the holder of the lease may do this.

  KEYS
    1  meta
    2  processing
    3  inflight
    4  delayed
  ARGV
    1  id
    2  token     the caller's lease token
    3  due_ms    when the job may be claimed again
  Returns
    1  OK: the job waits in the delayed set
    0  NO_SUCH_JOB, -1 NOT_LEASED, -2 STALE_ATTEMPT: nothing changed (includes/codes.lua)
]]
--- @include "codes"
--- @include "job_meta"
--- @include "lease"

local id = ARGV[1]
local meta, refused = held_lease(KEYS[1], KEYS[2], id, ARGV[2])
if not meta then return refused end
drop_lease(KEYS[2], KEYS[3], id, meta.q)
redis.call('ZADD', KEYS[4], tonumber(ARGV[3]), id)
return OK
