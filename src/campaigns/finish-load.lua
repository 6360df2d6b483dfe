--[[
  Switches a campaign whose pool is complete from "loading" to "ready", and only from "loading":
  run by load recovery (resume-loads.ts) for a loader that died between marking MySQL ready and
  marking Redis ready. A state set meanwhile (paused, cancelled) is never overwritten.

  KEYS[1]  meta hash    field: state
  Returns  1 if it switched the state, 0 if the state was anything but "loading"
]]
if redis.call('HGET', KEYS[1], 'state') ~= 'loading' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'ready')
return 1
