-- KEYS: bucket hash. ARGV: rate (0 = no bucket), burst, max wait.
-- Returns {seconds to wait, 1 if a slot was reserved, when the slot is on Redis's clock}:
-- {0, 1, t} = go now; {w, 1, t} = sleep w, then go; {w, 0, t} = paused or too long a wait:
-- nothing reserved, ask again after w.
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local pause = tonumber(redis.call('HGET', KEYS[1], 'pause_until') or '0')
if pause > now then return {tostring(pause - now + 0.001), 0, string.format('%.6f', pause)} end
local rate, burst, max_wait = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if rate <= 0 then return {'0', 1, string.format('%.6f', now)} end
local tokens = tonumber(redis.call('HGET', KEYS[1], 'tokens') or ARGV[2])
local ts = tonumber(redis.call('HGET', KEYS[1], 'ts') or now)
tokens = math.min(burst, tokens + math.max(now - ts, 0) * rate)
local wait, reserved = 0, 0
if tokens < 1 then wait = (1 - tokens) / rate end
if wait <= max_wait then tokens = tokens - 1; reserved = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', string.format('%.6f', now))
redis.call('EXPIRE', KEYS[1], 3600)
return {tostring(wait), reserved, string.format('%.6f', now + wait)}
