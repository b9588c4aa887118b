-- Small aggregates for monitoring, moved with every state change (keys in worker/keys.py):
-- the batch list, jobs per provider and state (fleet-wide and per batch), failures by
-- reason with a first example, jobs ended per ENDED_BUCKET seconds. A few HINCRBYs, so
-- Flower's pages and /metrics never scan jobs. cur is false when the job is being created.
local function note_change(job, b, provider, cur, to, now)
  local B = BATCH .. b
  if cur then
    redis.call('HINCRBY', B .. ':platforms', provider .. ':' .. cur, -1)
    redis.call('HINCRBY', COUNTS, provider .. ':' .. cur, -1)
  else
    redis.call('ZADD', BATCHES, 'NX', now, b)
    redis.call('HINCRBY', B .. ':platforms', provider .. ':total', 1)
  end
  redis.call('HINCRBY', B .. ':platforms', provider .. ':' .. to, 1)
  redis.call('HINCRBY', COUNTS, provider .. ':' .. to, 1)
  redis.call('HSET', B, 'changed_at', now)
  if TERMINAL[to] then
    local bucket = string.format('%d', math.floor(tonumber(now) / ENDED_BUCKET) * ENDED_BUCKET)
    redis.call('HINCRBY', B .. ':ended', bucket .. ':' .. to, 1)
  end
  if to == 'failed' then
    local reason = redis.call('HGET', job, 'reason') or 'unknown'
    redis.call('HINCRBY', B .. ':reasons', reason, 1)
    local example = string.sub(redis.call('HGET', job, 'error') or '', 1, 500)
    redis.call('HSETNX', B .. ':examples', reason, example)
  end
end
-- The same aggregates for n jobs of one provider created together in batch b (the create
-- script's form of note_change(job, b, provider, false, INITIAL, now), once per provider).
local function note_created(b, provider, n, now)
  local B = BATCH .. b
  redis.call('ZADD', BATCHES, 'NX', now, b)
  redis.call('HINCRBY', B .. ':platforms', provider .. ':total', n)
  redis.call('HINCRBY', B .. ':platforms', provider .. ':' .. INITIAL, n)
  redis.call('HINCRBY', COUNTS, provider .. ':' .. INITIAL, n)
  redis.call('HSET', B, 'changed_at', now)
end
