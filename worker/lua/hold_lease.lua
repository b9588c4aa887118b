-- KEYS: a lease (a credential's sweep, a shared search's walk). ARGV: our token, ttl in ms.
-- Takes a free lease or renews ours; returns 1 while we hold it, 0 when another does.
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if cur then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
