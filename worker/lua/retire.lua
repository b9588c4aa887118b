-- ARGV: now, force ('1': retire whatever the retention says, as `forget` does), then batch
-- names. Retires each batch whose retention has ended (its RETIRING time is past): its jobs
-- per platform and state leave the fleet-wide COUNTS, and every key of the batch goes.
-- Returns the names retired.
local now, force = tonumber(ARGV[1]), ARGV[2] == '1'
local retired = {}
for i = 3, #ARGV do
  local b = ARGV[i]
  local at = tonumber(redis.call('ZSCORE', RETIRING, b) or '')
  if force or (at and at <= now) then
    local counts = redis.call('HGETALL', BATCH .. b .. PLATFORMS_PART)
    for j = 1, #counts, 2 do
      local n = tonumber(counts[j + 1])  -- "{provider}:{state}" fields only; never "-0"
      if n ~= 0 and string.sub(counts[j], -6) ~= ':total' then
        redis.call('HINCRBY', COUNTS, counts[j], -n)
      end
    end
    redis.call('DEL', unpack(batch_keys(b)))
    redis.call('ZREM', RETIRING, b)
    redis.call('ZREM', BATCHES, b)
    retired[#retired + 1] = b
  end
end
return retired
