-- Release a lock only if the caller still owns it (its token is the value): a holder whose lock
-- expired and was taken by another never deletes the new owner's lock.
-- KEYS: lock
-- ARGV: token
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
