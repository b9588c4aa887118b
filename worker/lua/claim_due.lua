-- KEYS: the step's due zset, then (the first step only) the provider's index of jobs not yet
-- started. ARGV: now, lease-until, limit. Claims due members by pushing their due time to
-- the lease's end, so no other dispatcher hands them out meanwhile. Work already started
-- (a retry, a resumed step, a claim whose message was lost) goes first: jobs not yet
-- started are taken only for the room the due index leaves, oldest first, and move into
-- the due index, so a message of theirs that is lost comes back with the started work.
local now, at, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit)
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], 'XX', at, id) end
if KEYS[2] and #ids < limit then
  local new = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, limit - #ids)
  for _, id in ipairs(new) do
    redis.call('ZREM', KEYS[2], id)
    redis.call('ZADD', KEYS[1], at, id)
    ids[#ids + 1] = id
  end
end
return ids
