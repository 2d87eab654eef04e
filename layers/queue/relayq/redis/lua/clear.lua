-- Remove every waiting job of one queue, pending and delayed. Returns the removed ids so their
-- records can be marked cancelled (none is left "queued" in the database with nothing in Redis).
-- KEYS: meta, delayed
-- ARGV: prefix, queue
local pending_key = ARGV[1] .. 'pending:' .. ARGV[2]
local removed = redis.call('ZRANGE', pending_key, 0, -1)
redis.call('DEL', pending_key)
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local raw = redis.call('HGET', KEYS[1], id)
  if raw and cjson.decode(raw).q == ARGV[2] then
    redis.call('ZREM', KEYS[2], id)
    removed[#removed + 1] = id
  end
end
for _, id in ipairs(removed) do
  redis.call('HDEL', KEYS[1], id)
end
return removed
