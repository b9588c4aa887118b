-- KEYS: the index claimed from, then, when it is the index of jobs not yet started, the
-- step's due index they move into. ARGV: now, lease-until, limit, in-flight room ('' = no
-- limit). Claims up to limit due members, oldest due time first, by setting their due time
-- to the lease's end, so no other dispatcher hands them out meanwhile. A job not yet started
-- moves into the due index as it is claimed, so a message of its that is lost comes back
-- with the started work. The dispatcher claims the started work (the due index alone)
-- before the jobs not yet started.
-- The room bounds only the jobs not yet in flight (not ALIVE), each of which a submit would
-- make remote; those past it are left due, as they were. A job already in flight (a create
-- to retry, a step to resume) holds its slot and is claimed whatever the room: a cap filled
-- by such jobs must not keep them from going on. Returns {ids, how many of them were not in
-- flight}, counted when a room is given (without one, job states are not read).
local now, at, limit, room = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local ids, entering, offset = {}, 0, 0
while #ids < limit do
  local page = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', offset, limit)
  for _, id in ipairs(page) do
    -- a job not yet started (claimed from its own index) is never in flight: no read
    local enters = room and (KEYS[2] ~= nil or not ALIVE[redis.call('HGET', JOB .. id, 'state')])
    if not enters or entering < room then
      ids[#ids + 1] = id
      if enters then entering = entering + 1 end
      if #ids == limit then break end
    end
  end
  if not room or #page < limit then break end  -- nothing was left out, or nothing is left
  offset = offset + #page
end
for _, id in ipairs(ids) do
  if KEYS[2] then
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZADD', KEYS[2], at, id)
  else
    redis.call('ZADD', KEYS[1], 'XX', at, id)
  end
end
return {ids, entering}
