-- KEYS: job. ARGV: step, comma list of states, now, lease-until, required field ('' = none).
-- Takes the job's step lease when the state matches and no live lease is held by another.
-- Returns 'resume' when an earlier attempt was cut short in a later state than the first listed
-- (its lease is still on the record; a step that handed the job back cleared it), 'fresh'
-- otherwise, or why not.
local job = KEYS[1]
local cur = redis.call('HGET', job, 'state')
if not cur then return 'missing' end
local pos = listed(ARGV[2], cur)
if not pos then return cur end
if ARGV[5] ~= '' and not redis.call('HGET', job, ARGV[5]) then return 'not_ready' end
local lease = tonumber(redis.call('HGET', job, 'lease_until') or '0')
if lease > tonumber(ARGV[3]) then return 'busy' end
local id, provider = redis.call('HGET', job, 'id'), redis.call('HGET', job, 'provider')
redis.call('HSET', job, 'lease_until', ARGV[4])
unschedule(id, provider)
redis.call('ZADD', due_key(ARGV[1], provider), ARGV[4], id)
if pos == 1 or lease == 0 then return 'fresh' end
return 'resume'
