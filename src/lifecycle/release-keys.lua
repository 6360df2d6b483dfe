#!lua
--[[
  Frees the Redis memory of a closed campaign whose every issued owner is in MySQL: deletes the
  pool, the users hash and the stream, and keeps the meta hash as a small tombstone, so that
  IssueCoupon still answers cancelled / ended / sold out from Redis alone (its state, end_ms and
  an empty pool say so) and verification still knows what the pool held.

  The caller (sweeper.ts, cancel.ts) decides that the campaign is closed and has counted its
  owners in MySQL; the script re-checks, atomically, what would make the removal lose data.
  For a campaign split into K sub-pools the keys are one sub-pool's and ARGV[1] that sub-pool's
  own owners (the sequences it issued, (sequence - 1) mod K = its number, plus its quarantined
  codes), compared with its own `issued`; the caller releases the sub-pools only once the whole
  campaign is closed (release.ts releaseSubPools).

  KEYS[1]  meta hash   (kept; gains released_ms, released_pool)
  KEYS[2]  pool list   (deleted)
  KEYS[3]  users hash  (deleted)
  KEYS[4]  stream      (deleted)
  ARGV[1]  owners of this campaign the caller found in MySQL

  Returns
    {0, pooled}   released now; `pooled` codes were still in the pool
    {1, pooled}   released before: nothing changed
    {-1}          the campaign is not in Redis
    {-2}          still loading
    {-8, issued}  not every owner is written: the stream is not empty, or MySQL's count is not
                  Redis's `issued`
]]
local meta = redis.call('HMGET', KEYS[1], 'state', 'issued', 'released_pool')
local state, issued, released_pool = meta[1], tonumber(meta[2] or '0'), meta[3]

if not state then return {-1} end
if released_pool then return {1, tonumber(released_pool)} end
if state ~= 'ready' and state ~= 'paused' and state ~= 'cancelled' then return {-2} end
if redis.call('XLEN', KEYS[4]) > 0 or tonumber(ARGV[1]) ~= issued then return {-8, issued} end

local pooled = redis.call('LLEN', KEYS[2])
local t = redis.call('TIME')
redis.call('HSET', KEYS[1], 'released_ms', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000),
  'released_pool', pooled)
redis.call('UNLINK', KEYS[2], KEYS[3], KEYS[4])
return {0, pooled}
