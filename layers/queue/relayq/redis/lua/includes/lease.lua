--[[ includes/lease.lua
  A claimed job's lease: its id in the processing set (scored by the lease deadline), one count in
  its queue's field of the inflight hash, and its claim counter (meta.a), the fencing token every
  write of that lease presents.
]]
--- @include "codes"
--- @include "job_meta"

-- Whether the job is leased, to whoever holds it.
local function is_leased(processing_key, id)
  return redis.call('ZSCORE', processing_key, id) ~= false
end

-- The job's metadata when the caller holds its lease: the job is in the processing set and its
-- token is the caller's. Else nil and the code that says why not.
local function held_lease(meta_key, processing_key, id, token)
  local meta = read_meta(meta_key, id)
  if not meta then return nil, NO_SUCH_JOB end
  if not is_leased(processing_key, id) then return nil, NOT_LEASED end
  if meta.a ~= tonumber(token) then return nil, STALE_ATTEMPT end
  return meta
end

-- End a lease: out of the processing set, one job fewer in flight on its queue.
local function drop_lease(processing_key, inflight_key, id, queue)
  redis.call('ZREM', processing_key, id)
  redis.call('HINCRBY', inflight_key, queue, -1)
end

-- Lease a job until deadline_ms under a new token (one above the last): a claim, or recovery
-- taking over an expired lease. Returns the token.
local function take_lease(meta_key, processing_key, id, meta, deadline_ms)
  meta.a = meta.a + 1
  write_meta(meta_key, id, meta)
  redis.call('ZADD', processing_key, deadline_ms, id)
  return meta.a
end
