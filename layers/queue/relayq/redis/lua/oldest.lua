--[[ oldest.lua
  Depth and oldest waiting job of each queue, read only. A pending set is ordered by priority band
  then FIFO (includes/pending.lua), so the first job of each band is that band's oldest: walk the
  band heads. Ids are time-ordered, so the smallest head id is the oldest job.

  KEYS
    1..  the pending set of each queue
  ARGV
    1  band width (2^40, PRIORITY_BAND on the host)
  Returns
    a flat list of pairs per key: the number of jobs waiting, the oldest id ('' when none)
]]
local band = tonumber(ARGV[1])
local out = {}
for i = 1, #KEYS do
  local oldest = ''
  local head = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
  while #head > 0 do
    if oldest == '' or head[1] < oldest then oldest = head[1] end
    local next_band = (math.floor(tonumber(head[2]) / band) + 1) * band
    head = redis.call('ZRANGEBYSCORE', KEYS[i], next_band, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  end
  out[#out + 1] = redis.call('ZCARD', KEYS[i])
  out[#out + 1] = oldest
end
return out
