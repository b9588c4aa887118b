-- KEYS: job. ARGV: allowed-from (comma list), to, now, step to schedule ('' = none), due-at,
-- in-flight limit ('' = none), then field/value pairs ('' deletes). A job is due for at most
-- one step at a time; a terminal state leaves the due index. Remote jobs alive at once
-- (ALIVE states) are counted per provider in INFLIGHT; entering ALIVE past the limit is
-- refused. Returns {1, old} when done, {0, old} when refused, {2, old} at the limit.
local job = KEYS[1]
local cur = redis.call('HGET', job, 'state')
if not cur then return {0, false} end
if not listed(ARGV[1], cur) then return {0, cur} end
-- A job whose remote job was seen ended waits for finalize: a poll answered before that (a
-- stale "still running" applied after a sweep saw the end) must not send it back to poll.
if ARGV[4] == 'poll' and redis.call('HEXISTS', job, 'remote_done') == 1 then
  return {0, cur}
end
local to = ARGV[2]
local b = redis.call('HGET', job, 'batch')
local id, provider = redis.call('HGET', job, 'id'), redis.call('HGET', job, 'provider')
if ALIVE[to] and not ALIVE[cur] then
  local limit = tonumber(ARGV[6])
  if limit and tonumber(redis.call('HGET', INFLIGHT, provider) or '0') >= limit then
    return {2, cur}
  end
  redis.call('HINCRBY', INFLIGHT, provider, 1)
elseif ALIVE[cur] and not ALIVE[to] then
  redis.call('HINCRBY', INFLIGHT, provider, -1)
end
redis.call('HSET', job, 'state', to)
if cur ~= to then
  redis.call('HSET', job, TIME .. to, ARGV[3])
  redis.call('HINCRBY', BATCH .. b, cur, -1)
  redis.call('HINCRBY', BATCH .. b, to, 1)
end
set_fields(job, ARGV, 7)
if cur ~= to then note_change(job, b, provider, cur, to, ARGV[3]) end
if TERMINAL[to] then
  redis.call('HDEL', job, 'lease_until')
  unschedule(id, provider)
  expire_ended(job, id, provider, ARGV[3])
  if cur ~= to then expire_batch_if_finished(b, ARGV[3]) end
elseif ARGV[4] ~= '' then
  unschedule(id, provider)
  redis.call('ZADD', due_key(ARGV[4], provider), ARGV[5], id)
end
return {1, cur}
