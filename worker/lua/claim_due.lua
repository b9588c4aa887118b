-- KEYS: due zset. ARGV: now, lease-until, limit. Claims due members by pushing their due
-- time to the lease's end, so no other dispatcher hands them out meanwhile.
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], 'XX', ARGV[2], id) end
return ids
