--[[ includes/pending.lua
  Where jobs wait their turn: one sorted set per queue, <prefix>pending:<queue>, scored
  priority * 2^40 + sequence, so a lower priority number goes first and jobs of one priority keep
  their order of arrival. The sequence is one counter (the seq key) for the whole deployment, so
  scores of different queues compare too (claim merges queues by score). oldest.lua walks the
  priority bands; the host passes it the band width (PRIORITY_BAND in broker.py).
]]

local function pending_key(prefix, queue)
  return prefix .. 'pending:' .. queue
end

-- Put a job at the back of its priority band in its queue.
local function add_pending(prefix, queue, priority, id, seq_key)
  redis.call('ZADD', pending_key(prefix, queue), priority * 1099511627776 + redis.call('INCR', seq_key), id)
end
