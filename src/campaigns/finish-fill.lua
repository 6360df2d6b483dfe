#!lua
--[[
  Ends a fill: the pool is complete, the campaign leaves "loading" for its lifecycle state. Only
  the fill that owns the pool may end it, only once, and only when every chunk is in.

  KEYS[1]   meta hash   fields: fence, state, filled, fill
  ARGV[1]   the fill's fence
  ARGV[2]   the mark the complete pool ends at (push-codes.lua)
  ARGV[3]   the kind of fill, "load" or "rebuild" (start-fill.lua's `fill` field): load recovery
            never ends a rebuild's fill, whose marks mean pool positions, not a count
  ARGV[4..] field, value pairs to set, including the new state

  Returns
    1    finished now
    0    already finished under this fence (a retried call): nothing changed
    -1   fenced out, or the pool is not complete
]]
local meta = redis.call('HMGET', KEYS[1], 'fence', 'state', 'filled', 'fill')
if meta[1] ~= ARGV[1] or meta[4] ~= ARGV[3] then return -1 end
if meta[2] ~= 'loading' then return 0 end
if meta[3] ~= ARGV[2] then return -1 end

redis.call('HSET', KEYS[1], unpack(ARGV, 4))
return 1
