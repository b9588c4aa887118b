-- KEYS: job. ARGV: field, value. Sets a field on an existing job only (never makes a stub).
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
