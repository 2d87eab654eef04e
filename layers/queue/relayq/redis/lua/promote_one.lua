--[[ promote_one.lua
  Make one delayed job due now ("run now"): out of the delayed set, into its queue's pending set at
  the back of its priority band. A job that is not delayed (already due, leased, unknown) is left
  as it is.

  KEYS
    1  delayed
    2  meta
    3  seq
  ARGV
    1  prefix    the key prefix (hash tag) of the pending sets
    2  id
  Returns
    1  the job waits in its queue now
    0  the job was not in the delayed set
]]
--- @include "job_meta"
--- @include "pending"

local prefix, id = ARGV[1], ARGV[2]
local meta = read_meta(KEYS[2], id)
if not meta or redis.call('ZREM', KEYS[1], id) == 0 then return 0 end
add_pending(prefix, meta.q, meta.p, id, KEYS[3])
return 1
