#!lua
--[[
  Moves a campaign to a lifecycle state: PauseCampaign, ResumeCampaign and CancelCampaign.
  Issuing (issue-coupon.lua) reads the same `state` field, so the change is seen by the very next
  IssueCoupon on every instance: nothing is issued after this script has returned.

  KEYS[1]  meta hash    fields: state ("loading" | "ready" | "paused" | "cancelled"), issued
  ARGV[1]  target state: "paused" (pause), "ready" (resume) or "cancelled" (cancel)

  Returns
    {0, issued}   the state changed; `issued` is the count at that instant (final for a cancel)
    {1, issued}   already in the target state: nothing changed
    {-1}          the campaign is not in Redis
    {-2}          the pool is still loading: nothing to pause, resume or cancel yet
    {-6}          cancelled: it can be neither paused nor resumed
]]
local meta = redis.call('HMGET', KEYS[1], 'state', 'issued')
local state, issued = meta[1], tonumber(meta[2] or '0')
local target = ARGV[1]

if not state then return {-1} end
if state == target then return {1, issued} end
if state == 'cancelled' then return {-6} end
if state ~= 'ready' and state ~= 'paused' then return {-2} end

redis.call('HSET', KEYS[1], 'state', target)
return {0, issued}
