-- KEYS: the index claimed from, then, when it is the index of jobs not yet started, the
-- step's due index they move into. ARGV: now, lease-until, limit. Claims due members,
-- oldest due time first, by setting their due time to the lease's end, so no other
-- dispatcher hands them out meanwhile. A job not yet started moves into the due index as
-- it is claimed, so a message of its that is lost comes back with the started work. The
-- dispatcher claims the started work (the due index alone) before the jobs not yet started.
local now, at, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit)
for _, id in ipairs(ids) do
  if KEYS[2] then
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZADD', KEYS[2], at, id)
  else
    redis.call('ZADD', KEYS[1], 'XX', at, id)
  end
end
return ids
