-- KEYS: job. ARGV: now, due-at. Starts a failed job again as a new attempt of the same key,
-- never while a remote job of it may still run. Returns 1 when started, else why not:
-- the job's state, 'remote_unknown' (a create's outcome was never learnt) or
-- 'remote_may_run' (its remote job was never seen to end).
local job = KEYS[1]
local cur = redis.call('HGET', job, 'state')
if not cur then return 'missing' end
if cur ~= 'failed' then return cur end
local reason = redis.call('HGET', job, 'reason')
if reason == 'submit_unknown' or redis.call('HEXISTS', job, 'create_started') == 1 then
  return 'remote_unknown'
end
local rid = redis.call('HGET', job, 'remote_id')
if rid and not redis.call('HGET', job, 'remote_done') then return 'remote_may_run' end
local id, provider = redis.call('HGET', job, 'id'), redis.call('HGET', job, 'provider')
local b = redis.call('HGET', job, 'batch')
local attempt = tonumber(redis.call('HGET', job, 'attempt') or '1')
if rid then  -- the earlier attempt's remote job stays registered, as a past attempt's
  local entry = REMOTE .. provider .. ':' .. rid
  if redis.call('GET', entry) == id then
    redis.call('SET', entry, id .. '#' .. attempt, 'KEEPTTL')
  end
  local past = cjson.decode(redis.call('HGET', job, 'past_remote_ids') or '[]')
  table.insert(past, rid)
  redis.call('HSET', job, 'past_remote_ids', cjson.encode(past))
end
for _, f in ipairs(ATTEMPT_FIELDS) do redis.call('HDEL', job, f) end
for _, s in ipairs(STATES) do
  if s ~= INITIAL then redis.call('HDEL', job, TIME .. s) end
end
redis.call('HSET', job, 'state', INITIAL, TIME .. INITIAL, ARGV[1], 'attempt', attempt + 1)
redis.call('HINCRBY', BATCH .. b, cur, -1)
redis.call('HINCRBY', BATCH .. b, INITIAL, 1)
if reason then redis.call('HINCRBY', BATCH .. b .. ':reasons', reason, -1) end
note_change(job, b, provider, cur, INITIAL, ARGV[1])
redis.call('PERSIST', job)
redis.call('ZREM', FILES_DUE, id)  -- its files are kept with it (HELD_FILES)
keep_batch(b)
redis.call('ZADD', unstarted_key(provider), ARGV[2], id)  -- a new attempt, not started
return 1
