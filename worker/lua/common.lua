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
