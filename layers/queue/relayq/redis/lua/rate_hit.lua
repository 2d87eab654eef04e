--[[ rate_hit.lua
  Count one call in a rate-limit window and keep the window's expiry, in one step: the counter
  never lives without an expiry (a MULTI/EXEC did this before; ElastiCache Serverless refuses some
  commands inside transactions, and a script is one request on any engine).

  KEYS
    1  the window's counter
  ARGV
    1  expiry_ms   how long the counter outlives its last hit
  Returns
    the count of the window, this call included
]]
local count = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return count
