-- KEYS: one step's due zset. ARGV: now, the job key prefix, the state the jobs wait in, then
-- job ids. Brings each listed job that is still in that state, held by no step (no lease on
-- its record: it was handed back to wait), and due later than now forward to now; never adds
-- a job to the index. Returns how many were brought forward.
local now, prefix, state, n = tonumber(ARGV[1]), ARGV[2], ARGV[3], 0
for i = 4, #ARGV do
  local job = prefix .. ARGV[i]
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) > now and redis.call('HGET', job, 'state') == state
      and not redis.call('HGET', job, 'lease_until') then
    redis.call('ZADD', KEYS[1], 'XX', now, ARGV[i])
    n = n + 1
  end
end
return n
