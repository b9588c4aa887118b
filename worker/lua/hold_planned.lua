-- KEYS: job. ARGV: job id, then the locations a finalize is about to write. Holds them with
-- the job's result files (HELD_FILES) before any is written, so a finalize refused later (the
-- job cancelled meanwhile, or its step taken over) leaves nothing that no record names: the
-- job's end makes them due for removal (FILES_DUE) with the files its manifest names.
-- Returns 1 when held, 0 when the job is no longer running (nothing is to be written).
if redis.call('HGET', KEYS[1], 'state') ~= 'running' then return 0 end
local planned = {}
for i = 2, #ARGV do planned[#planned + 1] = ARGV[i] end
add_held(ARGV[1], planned)
return 1
