--[[
  Raises a campaign's issue budget in Redis, never lowers it: several instances raise budgets
  concurrently, each only after writing the same or a higher value to MySQL.

  KEYS[1]  meta hash    field: allow (the last sequence that may be issued)
  ARGV[1]  the new budget (a sequence number)
  Returns  the budget in force afterwards; -1 if the campaign is not in Redis
]]
local current = redis.call('HGET', KEYS[1], 'allow')
if not redis.call('HGET', KEYS[1], 'state') then return -1 end
local target = tonumber(ARGV[1])
if current and tonumber(current) >= target then return tonumber(current) end
redis.call('HSET', KEYS[1], 'allow', target)
return target
