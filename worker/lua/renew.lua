-- KEYS: job. ARGV: step, token (the lease-until we set), new lease-until. Renews only our
-- own lease: 1 when renewed, 0 when another worker has taken the step over.
local job = KEYS[1]
if redis.call('HGET', job, 'lease_until') ~= ARGV[2] then return 0 end
redis.call('HSET', job, 'lease_until', ARGV[3])
redis.call('ZADD', due_key(ARGV[1], redis.call('HGET', job, 'provider')), ARGV[3],
           redis.call('HGET', job, 'id'))
return 1
