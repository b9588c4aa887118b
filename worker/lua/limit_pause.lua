-- KEYS: bucket hash, pauses index. ARGV: pause seconds, credential. Extends (never shortens)
-- the fleet-wide pause, and notes its end in the index of pauses (read by the fleet page).
local t = redis.call('TIME')
local until_ = tonumber(t[1]) + tonumber(t[2]) / 1000000 + tonumber(ARGV[1])
local cur = tonumber(redis.call('HGET', KEYS[1], 'pause_until') or '0')
if until_ > cur then
  redis.call('HSET', KEYS[1], 'pause_until', tostring(until_))
  redis.call('HSET', KEYS[2], ARGV[2], tostring(until_))
end
redis.call('EXPIRE', KEYS[1], 3600)
return tostring(math.max(until_, cur))
