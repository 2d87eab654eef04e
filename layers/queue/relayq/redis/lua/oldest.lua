-- Depth and oldest waiting job of each queue, read only. A pending set is ordered by priority band
-- then FIFO, so the first job of each band is that band's oldest: walk the band heads.
-- KEYS: pending:<queue> for each queue
-- ARGV: band width (2^40)
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
