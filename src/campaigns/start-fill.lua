#!lua
--[[
  Starts filling a campaign's pool: a pool load (load-pool.ts) or a rebuild (rebuild.ts). The
  fill fence is a number MySQL raises each time a loader takes the load lease or a rebuild takes
  its lock (campaigns.load_fence); every write of a fill carries it, and Redis refuses a fence
  older than the one it holds, so a loader or rebuild that lost its lease can never touch the
  pool of the one that replaced it.

  KEYS[1]     meta hash
  KEYS[2..n]  keys the fill starts without (pool, users, and for a load the stream)
  ARGV[1]     this fill's fence
  ARGV[2..]   field, value pairs of the new meta hash; they must include state "loading",
              filled 0 (push-codes.lua advances `filled`) and fill ("load" or "rebuild")

  Returns
    1    the fill started (or had already started under this fence: a retried call)
    -1   fenced out: Redis holds a newer fill's fence
]]
local held = tonumber(redis.call('HGET', KEYS[1], 'fence') or '0')
local fence = tonumber(ARGV[1])
if held > fence then return -1 end
if held == fence then return 1 end

redis.call('DEL', unpack(KEYS))
redis.call('HSET', KEYS[1], 'fence', fence, unpack(ARGV, 2))
return 1
