#!lua
--[[
  Appends one chunk of codes to a pool being filled, exactly once: a chunk whose reply was lost
  (the connection dropped after Redis ran it) may be sent again, and is then recognised and not
  pushed twice. `filled` is the fill's mark: the last position pushed so far (a count of codes
  for a load, a pool position for a rebuild); chunks go in order, each naming the mark it starts
  after and the mark it ends at.

  KEYS[1]   meta hash   fields: fence, state, filled
  KEYS[2]   pool list
  ARGV[1]   the fill's fence (start-fill.lua)
  ARGV[2]   the mark this chunk starts after
  ARGV[3]   the mark this chunk ends at
  ARGV[4..] the codes, in pool order

  Returns
    1    pushed
    0    already pushed (a retry of a chunk that made it): nothing changed
    -1   fenced out: another fill owns the pool now
    -2   out of order: the pool's mark is neither before nor after this chunk
]]
local meta = redis.call('HMGET', KEYS[1], 'fence', 'state', 'filled')
if meta[1] ~= ARGV[1] or meta[2] ~= 'loading' then return -1 end
if meta[3] == ARGV[3] then return 0 end
if meta[3] ~= ARGV[2] then return -2 end

-- In slices: unpack of a whole chunk could pass Lua's C stack limit (LUAI_MAXCSTACK, 8000).
for i = 4, #ARGV, 1000 do
  redis.call('RPUSH', KEYS[2], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('HSET', KEYS[1], 'filled', ARGV[3])
return 1
