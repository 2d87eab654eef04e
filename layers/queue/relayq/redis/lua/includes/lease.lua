--[[ includes/lease.lua
  A claimed job's lease: its id in the processing set (scored by the lease deadline), one count in
  its queue's field of the inflight hash, and its attempt counter (meta.a), the fencing token every
  write of that attempt presents.
]]
--- @include "codes"
--- @include "job_meta"

-- The job's metadata when the caller holds its lease: the job is in the processing set and its
-- attempt counter is the caller's. Else nil and the code that says why not.
local function held_lease(meta_key, processing_key, id, attempt)
  local meta = read_meta(meta_key, id)
  if not meta then return nil, NO_SUCH_JOB end
  if not redis.call('ZSCORE', processing_key, id) then return nil, NOT_LEASED end
  if meta.a ~= tonumber(attempt) then return nil, STALE_ATTEMPT end
  return meta
end

-- End a lease: out of the processing set, one job fewer in flight on its queue.
local function drop_lease(processing_key, inflight_key, id, queue)
  redis.call('ZREM', processing_key, id)
  redis.call('HINCRBY', inflight_key, queue, -1)
end
