-- KEYS: due zset. ARGV: due-at, then job ids. Moves each id still in the index (and due
-- earlier) to due-at; never adds a job or brings one forward. Returns how many moved.
local at, n = tonumber(ARGV[1]), 0
for i = 2, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) < at then
    redis.call('ZADD', KEYS[1], 'XX', at, ARGV[i])
    n = n + 1
  end
end
return n
