--[[ retry.lua
  Give a job back for another attempt (or for the first, when the attempt never started), if the
  caller still holds its lease: into the delayed set when it is due later, straight into its
  pending set otherwise. Its token is raised to at least min_token, so that when the record saw
  higher tokens than Redis (Redis lost some claims) the next lease gets a higher one still.

  KEYS
    1  meta
    2  processing
    3  inflight
    4  delayed
    5  seq
  ARGV
    1  prefix    the key prefix (hash tag) of the pending sets
    2  id
    3  token     the caller's lease token
    4  due_ms    when the next attempt may start
    5  now_ms
    6  min_token the last token the job record saw (0: none)
  Returns
    1  OK: the job waits for its next attempt
    0  NO_SUCH_JOB, -1 NOT_LEASED, -2 STALE_ATTEMPT: nothing changed (includes/codes.lua)
]]
--- @include "codes"
--- @include "job_meta"
--- @include "lease"
--- @include "pending"

local prefix, id = ARGV[1], ARGV[2]
local meta, refused = held_lease(KEYS[1], KEYS[2], id, ARGV[3])
if not meta then return refused end
drop_lease(KEYS[2], KEYS[3], id, meta.q)
if tonumber(ARGV[6]) > meta.a then
  meta.a = tonumber(ARGV[6])
  write_meta(KEYS[1], id, meta)
end
local due = tonumber(ARGV[4])
if due > tonumber(ARGV[5]) then
  redis.call('ZADD', KEYS[4], due, id)
else
  add_pending(prefix, meta.q, meta.p, id, KEYS[5])
end
return OK
