-- KEYS: the due zsets of one step (one per provider). ARGV: new due time, then pairs of
-- (job id, the due time this worker last set, or '' at the step's start). Keeps a started
-- step's jobs out of the dispatcher's hands while their worker lives: a member's due time
-- moves to the new one only while it is still what this worker set (at the start: while it
-- is earlier), so a job the step has rescheduled meanwhile is left alone. Returns the ids
-- whose due time was moved.
local new, kept = tonumber(ARGV[1]), {}
for i = 2, #ARGV, 2 do
  local id, expected = ARGV[i], ARGV[i + 1]
  for _, key in ipairs(KEYS) do
    local cur = redis.call('ZSCORE', key, id)
    if cur then
      cur = tonumber(cur)
      if (expected == '' and cur < new) or (expected ~= '' and cur == tonumber(expected)) then
        redis.call('ZADD', key, 'XX', ARGV[1], id)
        kept[#kept + 1] = id
      end
    end
  end
end
return kept
