--[[ release_lock.lua
  Release a lock only if the caller still owns it (its token is the value): a holder whose lock
  expired and was taken by another never deletes the new owner's lock.

  KEYS
    1  lock
  ARGV
    1  token   the caller's
  Returns
    1  released
    0  the lock was not the caller's (expired, or taken by another)
]]
--- @include "owned_key"

return delete_if_owned(KEYS[1], ARGV[1])
