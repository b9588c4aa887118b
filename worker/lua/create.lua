-- KEYS: job, batch, batch ids, due submit. ARGV: now, due-at, then field/value pairs.
-- Creates the record in the INITIAL state unless it exists: 1 when created, else 0.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('HSET', KEYS[1], 'state', INITIAL, TIME .. INITIAL, ARGV[1])
redis.call('HINCRBY', KEYS[2], 'total', 1)
redis.call('HINCRBY', KEYS[2], INITIAL, 1)
redis.call('HSETNX', KEYS[2], 'created_at', ARGV[1])
redis.call('RPUSH', KEYS[3], redis.call('HGET', KEYS[1], 'id'))
redis.call('ZADD', KEYS[4], ARGV[2], redis.call('HGET', KEYS[1], 'id'))
note_change(KEYS[1], redis.call('HGET', KEYS[1], 'batch'), redis.call('HGET', KEYS[1], 'provider'),
            false, INITIAL, ARGV[1])
keep_batch(redis.call('HGET', KEYS[1], 'batch'))
return 1
