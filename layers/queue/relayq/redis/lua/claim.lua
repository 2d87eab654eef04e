--[[ claim.lua
  Claim up to n jobs across several queues, lowest score first (priority, then FIFO across all
  the queues), honouring each queue's limit of jobs in flight and skipping jobs whose timeout does
  not fit the caller's remaining time. Each claimed job moves to the processing set scored by its
  lease deadline under a new token, one above the last: the fencing token of this lease
  (includes/lease.lua). A claim is not an attempt: the job record counts one when the job starts.

  KEYS
    1  meta
    2  processing
    3  inflight
  ARGV
    1  prefix         the key prefix (hash tag) of the pending sets
    2  now_ms
    3  n              at most this many jobs
    4  grace_ms       added to a job's timeout for its lease deadline
    5  max_timeout_s  leave jobs with a longer timeout (0: any timeout)
    6  queues         JSON array of [queue, limit of jobs in flight on it (0: none)]; one
                      argument for any number of queues (a request carries at most 3,999)
  Returns
    a flat list of pairs id, token (the lease), in claim order; empty when nothing was claimed
]]
--- @include "job_meta"
--- @include "lease"
--- @include "pending"

local prefix, now, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local grace, max_timeout = tonumber(ARGV[4]), tonumber(ARGV[5])
-- With a time limit, look a bounded way past jobs too long for it, so one long job at the head
-- of a queue does not keep the shorter ones behind it from running in the time that is left.
local lookahead = 0
if max_timeout > 0 then lookahead = 32 end
local candidates, allowed = {}, {}
for _, wanted in ipairs(cjson.decode(ARGV[6])) do
  local queue, limit = wanted[1], tonumber(wanted[2])
  allowed[queue] = n
  if limit > 0 then
    allowed[queue] = math.min(n, limit - tonumber(redis.call('HGET', KEYS[3], queue) or '0'))
  end
  if allowed[queue] > 0 then
    local found = redis.call('ZRANGE', pending_key(prefix, queue), 0, allowed[queue] + lookahead - 1, 'WITHSCORES')
    for j = 1, #found, 2 do
      candidates[#candidates + 1] = { id = found[j], score = tonumber(found[j + 1]), queue = queue }
    end
  end
end
table.sort(candidates, function(a, b) return a.score < b.score end)
local claimed = {}
for _, c in ipairs(candidates) do
  if #claimed >= 2 * n then break end
  local meta = read_meta(KEYS[1], c.id)
  if not meta then
    redis.call('ZREM', pending_key(prefix, c.queue), c.id)
  elseif allowed[c.queue] > 0 and (max_timeout == 0 or meta.t <= max_timeout) then
    allowed[c.queue] = allowed[c.queue] - 1
    redis.call('ZREM', pending_key(prefix, c.queue), c.id)
    redis.call('HINCRBY', KEYS[3], c.queue, 1)
    claimed[#claimed + 1] = c.id
    claimed[#claimed + 1] = take_lease(KEYS[1], KEYS[2], c.id, meta, now + meta.t * 1000 + grace)
  end
end
return claimed
