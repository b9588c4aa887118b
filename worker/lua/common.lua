-- Helpers shared by the job store's scripts. The constants they use (JOB, BATCH, DUE,
-- UNSTARTED, INFLIGHT, STEPS, TERMINAL, ALIVE, INITIAL, TIME) are declared above
-- this file by worker/scripts.py from the Python definitions; nothing here spells a key or
-- a state.
local function due_key(step, provider) return DUE .. step .. ':' .. provider end
local function unstarted_key(provider) return UNSTARTED .. provider end
-- A job is in at most one index: a step's due index, or the index of jobs not yet started.
local function unschedule(id, provider)
  for _, step in ipairs(STEPS) do redis.call('ZREM', due_key(step, provider), id) end
  redis.call('ZREM', unstarted_key(provider), id)
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
-- a batch's keys when its last job has ended, except its per-platform counts, which the
-- retention janitor (worker/retention.py) takes off the fleet-wide COUNTS before it deletes
-- them (RETIRING says when). The result files a job's manifest names are held (HELD_FILES)
-- and due for removal (FILES_DUE) when its record expires, with any a finalize held before
-- writing them (hold_planned.lua). New work keeps them all again.
local function batch_keys(b)
  local out = {}
  for i, part in ipairs(BATCH_PARTS) do out[i] = BATCH .. b .. part end
  return out
end
local function keep_batch(b)
  for _, k in ipairs(batch_keys(b)) do redis.call('PERSIST', k) end
  redis.call('ZREM', RETIRING, b)
end
local function add_held(id, more)
  local held = cjson.decode(redis.call('HGET', HELD_FILES, id) or '[]')
  local seen = {}
  for _, at in ipairs(held) do seen[at] = true end
  for _, at in ipairs(more) do
    if type(at) == 'string' and not seen[at] then seen[at] = true; held[#held + 1] = at end
  end
  if #held > 0 then redis.call('HSET', HELD_FILES, id, cjson.encode(held)) end
  return #held
end
local function hold_files(job, id, due_at)
  local named = {}
  local ok, manifest = pcall(cjson.decode, redis.call('HGET', job, 'result') or 'null')
  if ok and type(manifest) == 'table' then
    if type(manifest.files) == 'table' then
      for _, file in pairs(manifest.files) do
        if type(file) == 'table' then named[#named + 1] = file.location end
      end
    end
    named[#named + 1] = manifest.data_location
  end
  if add_held(id, named) > 0 then redis.call('ZADD', FILES_DUE, due_at, id) end
end
local function expire_ended(job, id, provider, now)
  redis.call('EXPIRE', job, RETENTION)
  local rid = redis.call('HGET', job, 'remote_id')
  if rid then redis.call('EXPIRE', REMOTE .. provider .. ':' .. rid, RETENTION) end
  hold_files(job, id, tonumber(now) + RETENTION)
end
local function expire_batch_if_finished(b, now)
  for _, state in ipairs(ACTIVE) do
    if tonumber(redis.call('HGET', BATCH .. b, state) or '0') > 0 then return end
  end
  redis.call('HSET', BATCH .. b, 'finished_at', now)
  for i, k in ipairs(batch_keys(b)) do
    if BATCH_PARTS[i] ~= PLATFORMS_PART then redis.call('EXPIRE', k, RETENTION) end
  end
  redis.call('ZADD', RETIRING, tonumber(now) + RETENTION, b)
end
