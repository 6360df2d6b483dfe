#!lua
--[[
  Moves a campaign to a lifecycle state: PauseCampaign, ResumeCampaign and CancelCampaign.
  Issuing (issue-coupon.lua) reads the same `state` field, so the change is seen by the very next
  IssueCoupon on every instance: nothing is issued after this script has returned.

  A campaign split into K sub-pools (src/campaigns/sub-pools.ts) has one meta hash per sub-pool,
  each with its own `state`: the caller (set-state.ts) runs this script on every one of them, and
  learns K from sub-pool 0's answer.

  KEYS[1]  meta hash    fields: state ("loading" | "ready" | "paused" | "cancelled"), issued,
                        and for a sub-pool of a campaign split into several, shards (K)
  ARGV[1]  target state: "paused" (pause), "ready" (resume) or "cancelled" (cancel)

  Returns (each answer ends with K when the meta hash has `shards`; a campaign of one pool gets
  exactly the answers it always got)
    {0, issued}   the state changed; `issued` is the count at that instant (final for a cancel)
    {1, issued}   already in the target state: nothing changed
    {-1}          the campaign is not in Redis
    {-2}          the pool is still loading: nothing to pause, resume or cancel yet
    {-6}          cancelled: it can be neither paused nor resumed
]]
local meta = redis.call('HMGET', KEYS[1], 'state', 'issued', 'shards')
local state, issued, shards = meta[1], tonumber(meta[2] or '0'), tonumber(meta[3])
local target = ARGV[1]

if not state then return {-1} end
if state == target then return {1, issued, shards} end
if state == 'cancelled' then return {-6, shards} end
if state ~= 'ready' and state ~= 'paused' then return {-2, shards} end

redis.call('HSET', KEYS[1], 'state', target)
return {0, issued, shards}
