--[[ includes/job_meta.lua
  A job's queue metadata: field <id> of the meta hash, JSON
    q  queue            p  priority (lower first)     t  timeout in seconds
    a  the fencing token of the last lease: the claim counter, higher on every claim (and on every
       lease recovery takes over); the job record counts the attempts that really started
  The hash holds every job Redis knows (waiting, delayed or leased); a job leaves it when done.
  (Entries of earlier versions also carry m, the max attempts, which nothing reads any more.)
]]

-- The job's metadata, or nil when Redis does not know the job.
local function read_meta(meta_key, id)
  local raw = redis.call('HGET', meta_key, id)
  if raw then return cjson.decode(raw) end
  return nil
end

local function write_meta(meta_key, id, meta)
  redis.call('HSET', meta_key, id, cjson.encode(meta))
end
