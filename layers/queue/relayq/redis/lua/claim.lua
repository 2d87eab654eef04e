-- Claim up to N jobs across several queues, lowest score first (priority, then FIFO across all
-- the queues), honouring each queue's limit of jobs in flight and skipping jobs whose timeout does
-- not fit the caller's remaining time. Each claimed job moves to the processing set scored by its
-- lease deadline and its attempt counter goes up by one; that counter is the fencing token every
-- later write of this attempt must present.
-- KEYS: meta, processing, inflight
-- ARGV: prefix, now_ms, n, grace_ms, max_timeout_s (0 = any), then pairs of queue, limit (0 = none)
local prefix, now, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local grace, max_timeout = tonumber(ARGV[4]), tonumber(ARGV[5])
-- With a time limit, look a bounded way past jobs too long for it, so one long job at the head
-- of a queue does not keep the shorter ones behind it from running in the time that is left.
local lookahead = 0
if max_timeout > 0 then lookahead = 32 end
local candidates, allowed = {}, {}
for i = 6, #ARGV, 2 do
  local queue, limit = ARGV[i], tonumber(ARGV[i + 1])
  allowed[queue] = n
  if limit > 0 then
    allowed[queue] = math.min(n, limit - tonumber(redis.call('HGET', KEYS[3], queue) or '0'))
  end
  if allowed[queue] > 0 then
    local found = redis.call('ZRANGE', prefix .. 'pending:' .. queue, 0, allowed[queue] + lookahead - 1, 'WITHSCORES')
    for j = 1, #found, 2 do
      candidates[#candidates + 1] = { id = found[j], score = tonumber(found[j + 1]), queue = queue }
    end
  end
end
table.sort(candidates, function(a, b) return a.score < b.score end)
local claimed = {}
for _, c in ipairs(candidates) do
  if #claimed >= 2 * n then break end
  local raw = redis.call('HGET', KEYS[1], c.id)
  if not raw then
    redis.call('ZREM', prefix .. 'pending:' .. c.queue, c.id)
  elseif allowed[c.queue] > 0 then
    local meta = cjson.decode(raw)
    if max_timeout == 0 or meta.t <= max_timeout then
      allowed[c.queue] = allowed[c.queue] - 1
      redis.call('ZREM', prefix .. 'pending:' .. c.queue, c.id)
      meta.a = meta.a + 1
      redis.call('HSET', KEYS[1], c.id, cjson.encode(meta))
      redis.call('ZADD', KEYS[2], now + meta.t * 1000 + grace, c.id)
      redis.call('HINCRBY', KEYS[3], c.queue, 1)
      claimed[#claimed + 1] = c.id
      claimed[#claimed + 1] = meta.a
    end
  end
end
return claimed
