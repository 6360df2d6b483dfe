local counter = 0
local cid = os.getenv("CID") or "1"
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
local base = math.random(1, 1000000000)
request = function()
  counter = counter + 1
  local body = '{"campaignId":"' .. cid .. '","userId":"u' .. base .. '-' .. counter .. '"}'
  return wrk.format("POST", "/couponpb.CouponService/IssueCoupon", {["Content-Type"]="application/json"}, body)
end
