-- ARGV: now, then pairs: a job id whose held result files were just removed, and those of
-- them that could not be (a JSON list, '' when none). Forgets each one's held files, or keeps
-- only those not removed, for the next round; unless new work kept the job meanwhile (its
-- FILES_DUE time moved or went). Returns how many jobs' files were all released.
local now = tonumber(ARGV[1])
local released = 0
for i = 2, #ARGV, 2 do
  local id = ARGV[i]
  local at = tonumber(redis.call('ZSCORE', FILES_DUE, id) or '')
  if at and at <= now then
    if ARGV[i + 1] == '' then
      redis.call('ZREM', FILES_DUE, id)
      redis.call('HDEL', HELD_FILES, id)
      released = released + 1
    else
      redis.call('HSET', HELD_FILES, id, ARGV[i + 1])
    end
  end
end
return released
