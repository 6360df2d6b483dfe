-- wrk script for `npm run bench` (scripts/bench/wrk.ts): IssueCoupon in Connect JSON, one keep-alive
-- request at a time per connection, as fast as answered.
--
--   wrk -t2 -c100 -d5s -s wrk-issue.lua URL -- <campaignId> <users> <tag> [holders] [stop]
--
-- users: "unique"  a user id of its own per request: <tag>-<thread>-<n>
--        "anon"    no user id (an anonymous caller), the same bytes every time
--        "holders" user ids <tag>-0 … <tag>-(holders-1) in turn (callers who already hold a code)
-- stop:  "stop-on-refusal" ends each thread at its first answer that is not 200 (a burst until
--        sold out) and prints REFUSED; any other value (or none) keeps wrk's response hook off,
--        which costs nothing.
-- done() prints one line `WRK {json}` with the counts and latency percentiles (µs) for the bench.

local threads = 0

function setup(thread)
  thread:set("thread_no", threads)
  threads = threads + 1
end

local counter = 0

function init(args)
  local campaign = args[1]
  local users = args[2]
  local tag = args[3]
  local holders = tonumber(args[4] or "0")
  local head = "POST " .. (wrk.path:gsub("/$", "")) .. "/couponpb.CouponService/IssueCoupon HTTP/1.1\r\nHost: " .. wrk.host .. ":" .. tostring(wrk.port) ..
    "\r\ncontent-type: application/json\r\ncontent-length: "
  if users == "anon" then
    local body = '{"campaignId":"' .. campaign .. '"}'
    local fixed = head .. #body .. "\r\n\r\n" .. body
    request = function() return fixed end
  elseif users == "holders" then
    -- Threads interleave so that together they walk the holders in turn; prebuilt, as wrk advises.
    local all = {}
    for i = 0, holders - 1 do
      local body = '{"campaignId":"' .. campaign .. '","userId":"' .. tag .. "-" .. i .. '"}'
      all[i] = head .. #body .. "\r\n\r\n" .. body
    end
    counter = thread_no
    request = function()
      counter = counter + 1
      return all[counter % holders]
    end
  else
    local prefix = '{"campaignId":"' .. campaign .. '","userId":"' .. tag .. "-" .. thread_no .. "-"
    request = function()
      counter = counter + 1
      local body = prefix .. counter .. '"}'
      return head .. #body .. "\r\n\r\n" .. body
    end
  end
  if args[5] == "stop-on-refusal" then
    -- A stopped thread sends nothing more, but wrk itself runs out its -d: the bench, told on
    -- stdout, ends it with SIGINT once every thread has seen its refusal.
    local stopped = false
    response = function(status)
      if status ~= 200 and not stopped then
        stopped = true
        io.stdout:write("REFUSED\n")
        io.stdout:flush()
        wrk.thread:stop()
      end
    end
  end
end

function done(summary, latency)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests":%d,"durationUs":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
