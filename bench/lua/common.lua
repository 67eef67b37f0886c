-- Shared part of every wrk script: a wrong status is an error; done() prints one JSON line.
-- The workload part (prepended by the harness) sets `expected` and the request; it may
-- define `prepare()`, run once in each thread after wrk has set the Host header (so
-- wrk.format() gives whole requests there).
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  wrong = 0
  if prepare then
    prepare()
  end
end

function response(status, headers, body)
  if status ~= expected then
    wrong = wrong + 1
  end
end

function done(summary, latency, requests)
  local wrong_total = 0
  for _, t in ipairs(threads) do
    wrong_total = wrong_total + (t:get("wrong") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,"wrong_status":%d,' ..
    '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, wrong_total,
    e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max))
end
