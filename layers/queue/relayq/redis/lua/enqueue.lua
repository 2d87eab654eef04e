--[[ enqueue.lua
  Add one or more jobs: record their queue metadata, then put each in its queue's pending set
  (includes/pending.lua) or, when it is due later, in the delayed set (score = due time in ms). A
  job id already known is skipped, so a retried enqueue never duplicates a job. The host sends at
  most ENQUEUE_BATCH jobs a call (broker.py: a request carries at most 3,999 arguments).

  KEYS
    1  meta
    2  queues    the set of queue names ever used
    3  seq
    4  delayed
  ARGV
    1  prefix    the key prefix (hash tag) of the pending sets
    2  now_ms
    3.. six per job: id, queue, priority, timeout_s, due_ms, the last token its record saw (0 for
        a new job; more when a lost entry is restored, so new leases get higher tokens)
  Returns
    the number of jobs added (ids not known before)
]]
--- @include "pending"

local prefix, now = ARGV[1], tonumber(ARGV[2])
local added = 0
for i = 3, #ARGV, 6 do
  local id, queue = ARGV[i], ARGV[i + 1]
  local priority, due = tonumber(ARGV[i + 2]), tonumber(ARGV[i + 4])
  if redis.call('HSETNX', KEYS[1], id, cjson.encode({
      q = queue, p = priority, t = tonumber(ARGV[i + 3]), a = tonumber(ARGV[i + 5]) })) == 1 then
    redis.call('SADD', KEYS[2], queue)
    if due > now then
      redis.call('ZADD', KEYS[4], due, id)
    else
      add_pending(prefix, queue, priority, id, KEYS[3])
    end
    added = added + 1
  end
end
return added
