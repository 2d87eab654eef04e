--[[ includes/owned_key.lua
  A key that holds its owner's token (a lock, the cron's queued mark): only the owner deletes it,
  so a holder whose key expired and was taken by another never deletes the new owner's key.
]]

-- Delete key if it still holds owner; 1 when deleted, else 0.
local function delete_if_owned(key, owner)
  if redis.call('GET', key) == owner then
    return redis.call('DEL', key)
  end
  return 0
end
