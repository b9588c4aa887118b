-- Helpers shared by the job store's scripts. The constants they use (JOB, BATCH, DUE,
-- INFLIGHT, STEPS, TERMINAL, ALIVE, INITIAL, TIME) are declared above this file by
-- worker/scripts.py from the Python definitions; nothing here spells a key or a state.
local function due_key(step, provider) return DUE .. step .. ':' .. provider end
local function unschedule(id, provider)
  for _, step in ipairs(STEPS) do redis.call('ZREM', due_key(step, provider), id) end
end
local function set_fields(key, argv, first)
  for i = first, #argv, 2 do
    if argv[i + 1] == '' then redis.call('HDEL', key, argv[i])
    else redis.call('HSET', key, argv[i], argv[i + 1]) end
  end
end
local function listed(csv, value)
  local pos, i = nil, 0
  for s in string.gmatch(csv, '[^,]+') do i = i + 1; if s == value then pos = pos or i end end
  return pos
end
-- Retention: an ended job's hash and registry entry expire RETENTION seconds after it ends;
-- a batch's keys when its last job has ended. New work in the batch keeps them again.
local function batch_keys(b)
  local out = {}
  for i, part in ipairs(BATCH_PARTS) do out[i] = BATCH .. b .. part end
  return out
end
local function keep_batch(b)
  for _, k in ipairs(batch_keys(b)) do redis.call('PERSIST', k) end
end
local function expire_ended(job, provider)
  redis.call('EXPIRE', job, RETENTION)
  local rid = redis.call('HGET', job, 'remote_id')
  if rid then redis.call('EXPIRE', REMOTE .. provider .. ':' .. rid, RETENTION) end
end
local function expire_batch_if_finished(b, now)
  for _, state in ipairs(ACTIVE) do
    if tonumber(redis.call('HGET', BATCH .. b, state) or '0') > 0 then return end
  end
  redis.call('HSET', BATCH .. b, 'finished_at', now)
  for _, k in ipairs(batch_keys(b)) do redis.call('EXPIRE', k, RETENTION) end
end
