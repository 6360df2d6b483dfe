--[[
  Counts one IssueCoupon call against a rate limit whose counter lives in another slot than the
  sub-pool the call goes to: a named caller's per-address limit on a campaign split into
  sub-pools (src/issue/sub-pool-walk.ts). The same counting as issue-coupon.lua's.

  KEYS[1]  the counter of this window
  ARGV[1]  calls allowed per window
  ARGV[2]  the window, in ms
  Returns  0 within the limit; otherwise the ms until the window ends (at least 1)
]]
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if n <= tonumber(ARGV[1]) then return 0 end
return math.max(1, redis.call('PTTL', KEYS[1]))
