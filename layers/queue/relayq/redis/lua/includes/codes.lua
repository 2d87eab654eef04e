--[[ includes/codes.lua
  The answers of the lease scripts (finish, retry, defer). relayq.redis.codes.ScriptCode names the
  same numbers on the host; tests/unit/test_scripts.py keeps the two equal.
]]
local OK = 1
local NO_SUCH_JOB = 0
local NOT_LEASED = -1
local STALE_ATTEMPT = -2
