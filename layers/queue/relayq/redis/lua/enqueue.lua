-- Add one or more jobs: record their queue metadata, then put each in its queue's pending set
-- (score = priority * 2^40 + sequence: lower priority number first, then FIFO) or, when it is
-- due later, in the delayed set (score = due time in ms). A job id already known is skipped, so a
-- retried enqueue never duplicates a job.
-- KEYS: meta, queues, seq, delayed
-- ARGV: prefix, now_ms, then for each job: id, queue, priority, timeout, max_attempts, due_ms,
--       attempts already made (0 for a new job; more when a lost entry is restored)
local prefix, now = ARGV[1], tonumber(ARGV[2])
local added = 0
for i = 3, #ARGV, 7 do
  local id, queue = ARGV[i], ARGV[i + 1]
  local priority, due = tonumber(ARGV[i + 2]), tonumber(ARGV[i + 5])
  if redis.call('HSETNX', KEYS[1], id, cjson.encode({
      q = queue, p = priority, t = tonumber(ARGV[i + 3]), m = tonumber(ARGV[i + 4]),
      a = tonumber(ARGV[i + 6]) })) == 1 then
    redis.call('SADD', KEYS[2], queue)
    if due > now then
      redis.call('ZADD', KEYS[4], due, id)
    else
      redis.call('ZADD', prefix .. 'pending:' .. queue, priority * 1099511627776 + redis.call('INCR', KEYS[3]), id)
    end
    added = added + 1
  end
end
return added
