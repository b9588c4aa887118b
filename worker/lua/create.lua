-- KEYS: batch, batch ids. ARGV: now, due-at, batch name, then per job three values: id,
-- provider, and its fields as one JSON object of strings (fewer arguments to pack and parse
-- than flat pairs: a 100,000-job file is enqueued in a few hundred calls).
-- Creates each record in the INITIAL state unless it exists, appends it to the batch and
-- puts it in its provider's index of jobs not yet started at due-at; returns the ids
-- created, in order.
local now, due_at, b = ARGV[1], ARGV[2], ARGV[3]
local created, due = {}, {}
for i = 4, #ARGV, 3 do
  local id, provider = ARGV[i], ARGV[i + 1]
  local job = JOB .. id
  if redis.call('EXISTS', job) == 0 then
    local flat = {}
    for name, value in pairs(cjson.decode(ARGV[i + 2])) do
      flat[#flat + 1] = name
      flat[#flat + 1] = value
    end
    redis.call('HSET', job, 'state', INITIAL, TIME .. INITIAL, now, unpack(flat))
    created[#created + 1] = id
    redis.call('ZREM', FILES_DUE, id)  -- a key submitted again after its retention
    due[provider] = due[provider] or {}
    local members = due[provider]
    members[#members + 1] = due_at
    members[#members + 1] = id
  end
end
if #created > 0 then
  redis.call('HINCRBY', KEYS[1], 'total', #created)
  redis.call('HINCRBY', KEYS[1], INITIAL, #created)
  redis.call('HSETNX', KEYS[1], 'created_at', now)
  redis.call('RPUSH', KEYS[2], unpack(created))
  keep_batch(b)
  for provider, members in pairs(due) do
    redis.call('ZADD', unstarted_key(provider), unpack(members))
    note_created(b, provider, #members / 2, now)
  end
end
return created
