#!lua
--[[
  Issues one coupon of a campaign: the whole hot path, atomically, in one round trip.

  KEYS[1]  meta hash    fields: state ("loading" | "ready" | "paused" | "cancelled"),
                        start_ms and end_ms (ms since epoch; end_ms absent: no end), issued,
                        allow (the issue budget: the last sequence that may be issued; absent:
                        no budget); for a campaign split into sub-pools (src/campaigns/
                        sub-pools.ts) also shards (K) and sub (this sub-pool, 0…K−1), and
                        issued/allow count this sub-pool's codes
  (KEYS[1..4] are one sub-pool's keys when the campaign has several.)
  KEYS[2]  pool list    codes not yet issued; LPOP takes the next
  KEYS[3]  users hash   user id -> "code|sequence"
  KEYS[4]  stream       one entry per issue for the persister: c=code u=user s=sequence t=ms
  KEYS[5]  counter of this user's calls in the rate-limit window (any key of the campaign when off)
  KEYS[6]  counter of this client address's calls in the window (likewise)
  ARGV[1]  user id, or "" for an anonymous caller
  ARGV[2]  calls one user may make per window; 0: no per-user limit
  ARGV[3]  calls one client address may make per window; 0: no per-address limit
  ARGV[4]  the rate-limit window, in ms
  ARGV[5]  K, present when the caller knows the campaign is split into K sub-pools
  With rate limits off (the default) the call passes only KEYS[1..4] and ARGV[1]: fewer
  arguments to build and parse on every call of a flash sale.

  Returns
    {0, code, sequence}   issued now
    {1, code, sequence}   this user already holds `code` (a retry): nothing changes
    {-1}                  the campaign is not in Redis
    {-2}                  the pool is still loading
    {-3, start_ms}        before the start instant, by Redis's own clock
    {-4, issued}          sold out, with `issued` codes issued in all (by this sub-pool: the
                          caller walks on to the next one)
    {-5}                  paused (PauseCampaign)
    {-6}                  cancelled (CancelCampaign)
    {-7, end_ms}          at or after the end instant, by Redis's own clock
    {-9, kind, retry_ms}  over a rate limit ("user" or "ip"); retry after retry_ms
    {-8}                  the issue budget is used up until the service raises it (it raises
                          it in MySQL first: src/campaigns/issue-budget.ts); try again shortly
    {-10, K}              the campaign has K sub-pools and the caller did not say it knew
                          (ARGV[5]): it must route the call (src/issue/sub-pool-walk.ts); an
                          instance learns K from this answer once

  The lifecycle checks read only the meta hash, so they cost nothing extra: one HMGET as before.
  Precedence: cancelled, then ended, then paused, then not started. A holder asking again after
  the campaign closed gets the closing answer, not the code (it stays readable in GetCampaign).

  The `#!lua` line makes Redis treat the script as a writer up front, so under OOM, on a
  read-only replica or with failing persistence it is refused whole instead of stopping halfway.
  Every check comes before the first write: Lua scripts have no rollback.
]]
local meta = redis.call('HMGET', KEYS[1], 'state', 'start_ms', 'end_ms', 'issued', 'allow', 'shards', 'sub')
local state, start_ms, end_ms, issued, allow = meta[1], meta[2], meta[3], meta[4], meta[5]
local shards = tonumber(meta[6] or '1')

-- Checks: nothing below may write until the last of them has passed.
if not state then return {-1} end
-- A caller who thinks the campaign has one pool would call "sold out" when this sub-pool is empty.
if shards > 1 and not ARGV[5] then return {-10, shards} end
if state == 'cancelled' then return {-6} end
-- "loading", or a state this script does not know: never issue from it.
if state ~= 'ready' and state ~= 'paused' then return {-2} end

-- Redis's clock, not the caller's: every instance agrees on the start and end instants.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if end_ms and now >= tonumber(end_ms) then return {-7, end_ms} end
if state == 'paused' then return {-5} end
if now < tonumber(start_ms) then return {-3, start_ms} end

-- Optional rate limits, counted before any code can be taken: a client over its limit never
-- drains the pool. These counters are the only writes before the last check, on purpose: a
-- refused call still counts against its caller.
if #KEYS == 6 then
  local window = tonumber(ARGV[4])
  local function over(key, limit)
    if limit <= 0 then return false end
    local n = redis.call('INCR', key)
    if n == 1 then redis.call('PEXPIRE', key, window) end
    return n > limit
  end
  if over(KEYS[5], tonumber(ARGV[2])) then return {-9, 'user', redis.call('PTTL', KEYS[5])} end
  if over(KEYS[6], tonumber(ARGV[3])) then return {-9, 'ip', redis.call('PTTL', KEYS[6])} end
end

local user = ARGV[1]
if user ~= '' then
  local held = redis.call('HGET', KEYS[3], user)
  if held then
    local sep = string.find(held, '|', 1, true)
    return {1, string.sub(held, 1, sep - 1), tonumber(string.sub(held, sep + 1))}
  end
end

-- Never past the budget recorded in MySQL: after a total loss of Redis, every code that may have
-- been issued is then known. (A user who already holds a code got it above, budget or not.)
if allow and tonumber(issued or '0') >= tonumber(allow) and redis.call('LLEN', KEYS[2]) > 0 then return {-8} end

-- Writes.
local code = redis.call('LPOP', KEYS[2])
if not code then return {-4, tonumber(issued or '0')} end
local sequence = redis.call('HINCRBY', KEYS[1], 'issued', 1)
-- Interleaved across sub-pools, so sequences stay unique per campaign.
if shards > 1 then sequence = (sequence - 1) * shards + tonumber(meta[7]) + 1 end
if user ~= '' then redis.call('HSET', KEYS[3], user, code .. '|' .. sequence) end
redis.call('XADD', KEYS[4], '*', 'c', code, 'u', user, 's', sequence, 't', now)
return {0, code, sequence}
