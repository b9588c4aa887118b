-- ARGV: now, then job ids whose held result files were just removed. Forgets each one's
-- held files unless new work kept the job meanwhile (its FILES_DUE time moved or went).
local now = tonumber(ARGV[1])
local released = 0
for i = 2, #ARGV do
  local at = tonumber(redis.call('ZSCORE', FILES_DUE, ARGV[i]) or '')
  if at and at <= now then
    redis.call('ZREM', FILES_DUE, ARGV[i])
    redis.call('HDEL', HELD_FILES, ARGV[i])
    released = released + 1
  end
end
return released
