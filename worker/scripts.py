"""The Lua scripts behind :class:`worker.jobs.JobStore`: every state change is one of these.

Each runs atomically in Redis, so a check and the write it guards can never be split by a
crash or another worker. Key layout and the state machine are described in :mod:`worker.jobs`.
"""

PREFIX = "jf:"

LUA_COMMON = """
local P = 'PREFIX'
local function due_key(step, provider) return P .. 'due:' .. step .. ':' .. provider end
local function unschedule(id, provider)
  for _, step in ipairs({'submit', 'poll', 'finalize'}) do
    redis.call('ZREM', due_key(step, provider), id)
  end
end
local function set_fields(key, argv, first)
  for i = first, #argv, 2 do
    if argv[i + 1] == '' then redis.call('HDEL', key, argv[i])
    else redis.call('HSET', key, argv[i], argv[i + 1]) end
  end
end
""".replace("PREFIX", PREFIX)

# KEYS: job. ARGV: allowed-from (comma list), to, now, step to schedule ('' = none), due-at,
# in-flight limit ('' = none), then field/value pairs ('' deletes). A job is due for at most
# one step at a time; a terminal state leaves the due index. Remote jobs alive at once
# (submitting + running) are counted per provider in jf:inflight; entering that set past the
# limit is refused. Returns {1, old} when done, {0, old} when refused, {2, old} at the limit.
TRANSITION = LUA_COMMON + """
local job = KEYS[1]
local cur = redis.call('HGET', job, 'state')
if not cur then return {0, false} end
local allowed = false
for s in string.gmatch(ARGV[1], '[^,]+') do if s == cur then allowed = true end end
if not allowed then return {0, cur} end
local to = ARGV[2]
local b = redis.call('HGET', job, 'batch')
local id, provider = redis.call('HGET', job, 'id'), redis.call('HGET', job, 'provider')
local function alive(s) return s == 'submitting' or s == 'running' end
if alive(to) and not alive(cur) then
  local limit = tonumber(ARGV[6])
  if limit and tonumber(redis.call('HGET', P .. 'inflight', provider) or '0') >= limit then
    return {2, cur}
  end
  redis.call('HINCRBY', P .. 'inflight', provider, 1)
elseif alive(cur) and not alive(to) then
  redis.call('HINCRBY', P .. 'inflight', provider, -1)
end
redis.call('HSET', job, 'state', to)
if cur ~= to then
  redis.call('HSET', job, 't_' .. to, ARGV[3])
  redis.call('HINCRBY', P .. 'batch:' .. b, cur, -1)
  redis.call('HINCRBY', P .. 'batch:' .. b, to, 1)
end
set_fields(job, ARGV, 7)
if to == 'succeeded' or to == 'failed' or to == 'cancelled' then
  redis.call('HDEL', job, 'lease_until')
  unschedule(id, provider)
elseif ARGV[4] ~= '' then
  unschedule(id, provider)
  redis.call('ZADD', due_key(ARGV[4], provider), ARGV[5], id)
end
return {1, cur}
"""

# KEYS: job. ARGV: step, comma list of states, now, lease-until, required field ('' = none).
# Takes the job's step lease when the state matches and no live lease is held by another.
# Returns 'fresh' (state was the first listed), 'resume' (a later one), or why not.
CLAIM = LUA_COMMON + """
local job = KEYS[1]
local cur = redis.call('HGET', job, 'state')
if not cur then return 'missing' end
local states, i, pos = {}, 0, nil
for s in string.gmatch(ARGV[2], '[^,]+') do i = i + 1; if s == cur then pos = i end end
if not pos then return cur end
if ARGV[5] ~= '' and not redis.call('HGET', job, ARGV[5]) then return 'not_ready' end
local lease = tonumber(redis.call('HGET', job, 'lease_until') or '0')
if lease > tonumber(ARGV[3]) then return 'busy' end
redis.call('HSET', job, 'lease_until', ARGV[4])
unschedule(redis.call('HGET', job, 'id'), redis.call('HGET', job, 'provider'))
redis.call('ZADD', due_key(ARGV[1], redis.call('HGET', job, 'provider')), ARGV[4],
           redis.call('HGET', job, 'id'))
if pos == 1 then return 'fresh' end
return 'resume'
"""

# KEYS: job. ARGV: step, token (the lease-until we set), new lease-until. Renews only our lease.
RENEW = LUA_COMMON + """
local job = KEYS[1]
if redis.call('HGET', job, 'lease_until') ~= ARGV[2] then return 0 end
redis.call('HSET', job, 'lease_until', ARGV[3])
redis.call('ZADD', due_key(ARGV[1], redis.call('HGET', job, 'provider')), ARGV[3],
           redis.call('HGET', job, 'id'))
return 1
"""

# KEYS: due zset. ARGV: now, lease-until, limit. Claims due members by pushing them to the lease.
CLAIM_DUE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], 'XX', ARGV[2], id) end
return ids
"""

# KEYS: job, batch, batch ids, due submit. ARGV: now, due-at, then field/value pairs.
CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('HSET', KEYS[1], 'state', 'queued', 't_queued', ARGV[1])
redis.call('HINCRBY', KEYS[2], 'total', 1)
redis.call('HINCRBY', KEYS[2], 'queued', 1)
redis.call('HSETNX', KEYS[2], 'created_at', ARGV[1])
redis.call('RPUSH', KEYS[3], redis.call('HGET', KEYS[1], 'id'))
redis.call('ZADD', KEYS[4], ARGV[2], redis.call('HGET', KEYS[1], 'id'))
return 1
"""


# KEYS: job. ARGV: field, value. Sets a field on an existing job only (never makes a stub).
FLAG = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""
