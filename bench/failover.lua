-- wrk script for bench/run.sh's failover part: counts what the client saw go wrong
-- (responses other than 2xx, and socket errors) over the whole run.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  responses = 0
  non2xx = 0
  codes = {}
end

function response(status, headers, body)
  responses = responses + 1
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    codes[status] = (codes[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local n, bad, by_code = 0, 0, {}
  for _, t in ipairs(threads) do
    n = n + t:get("responses")
    bad = bad + t:get("non2xx")
    for k, v in pairs(t:get("codes")) do by_code[k] = (by_code[k] or 0) + v end
  end
  for k, v in pairs(by_code) do io.write(string.format("FAILOVER status %d %d\n", k, v)) end
  local e = summary.errors
  io.write(string.format("FAILOVER responses %d non2xx %d connect %d read %d write %d timeout %d\n",
    n, bad, e.connect, e.read, e.write, e.timeout))
  io.write(string.format("FAILOVER p99_ms %.3f max_ms %.3f\n",
    latency:percentile(99) / 1000, latency.max / 1000))
end
