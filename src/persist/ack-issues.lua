#!lua
--[[
  Acknowledges issues the persister has committed to MySQL and deletes them from the campaign's
  stream, atomically (as MULTI XACK XDEL EXEC did): an entry is never deleted yet pending, or
  acknowledged yet kept. Deleting keeps the stream down to what MySQL does not hold yet, which is
  what GetCampaign merges for read-your-writes.

  KEYS[1]  the campaign's (or sub-pool's) stream
  ARGV[1]  the persisters' consumer group
  ARGV[2…] the entry ids of the committed batch

  Returns the number of entries deleted. The ids go to XACK and XDEL 1,000 at a time: Lua's
  unpack has a stack limit of a few thousand values.
]]
local deleted = 0
for first = 2, #ARGV, 1000 do
  local last = math.min(first + 999, #ARGV)
  redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, first, last))
  deleted = deleted + redis.call('XDEL', KEYS[1], unpack(ARGV, first, last))
end
return deleted
