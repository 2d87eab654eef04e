--[[ reopen.lua
  Make a job wait again whatever Redis still holds of it (a failed job retried): a job Redis does
  not know is added as enqueue.lua adds it; a stale lease (its holder recorded the job as failed
  but could not drop it, or died) is taken back; a job still waiting goes to the back of its
  line, as a new one. Its token is raised to at least min_token, and a lease taken back leaves its
  holder's token behind, so every lease of before is refused from now on.

  KEYS
    1  meta
    2  queues
    3  seq
    4  delayed
    5  processing
    6  inflight
  ARGV
    1  prefix      the key prefix (hash tag) of the pending sets
    2  now_ms
    3  id
    4  queue
    5  priority
    6  timeout_s
    7  due_ms
    8  min_token   the last token the job record saw
  Returns
    'added'     Redis did not know the job
    'released'  a stale lease was taken back
    'waiting'   it was still waiting (pending or delayed)
]]
--- @include "job_meta"
--- @include "lease"
--- @include "pending"

local prefix, now, id = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local queue, priority, due = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[7])
local meta = read_meta(KEYS[1], id)
local answer = 'added'
if meta and is_leased(KEYS[5], id) then
  drop_lease(KEYS[5], KEYS[6], id, meta.q)
  answer = 'released'
elseif meta and redis.call('ZREM', pending_key(prefix, meta.q), id) + redis.call('ZREM', KEYS[4], id) > 0 then
  answer = 'waiting'
end
local token = math.max(meta and meta.a or 0, tonumber(ARGV[8]))
write_meta(KEYS[1], id, { q = queue, p = priority, t = tonumber(ARGV[6]), a = token })
redis.call('SADD', KEYS[2], queue)
if due > now then
  redis.call('ZADD', KEYS[4], due, id)
else
  add_pending(prefix, queue, priority, id, KEYS[3])
end
return answer
