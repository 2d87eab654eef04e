--[[ cancel.lua
  Take a waiting job (pending or delayed) out of Redis. A job in flight is not pulled from under
  its worker.

  KEYS
    1  meta
    2  delayed
  ARGV
    1  prefix    the key prefix (hash tag) of the pending sets
    2  id
  Returns
    1  the job was waiting and is gone
    0  the job is being processed, or Redis does not know it
]]
--- @include "job_meta"
--- @include "pending"

local meta = read_meta(KEYS[1], ARGV[2])
if not meta then return 0 end
local removed = redis.call('ZREM', pending_key(ARGV[1], meta.q), ARGV[2]) + redis.call('ZREM', KEYS[2], ARGV[2])
if removed == 0 then return 0 end
redis.call('HDEL', KEYS[1], ARGV[2])
return 1
