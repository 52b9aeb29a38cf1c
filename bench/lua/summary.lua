-- Shared by every wrk script here (loaded with dofile): each thread counts its answers by key in
-- the global `answers` (a global, so that done() can read it with thread:get()), and done()
-- prints one JSON line that bench/load.py reads.

answers = {}
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function count_answer(key)
  answers[key] = (answers[key] or 0) + 1
end

-- The key of an answer of our JSON API: its status, and for a refusal its problem `code`.
function problem_key(status, body)
  local key = tostring(status)
  if status >= 300 then
    key = key .. " " .. (body:match('"code"%s*:%s*"([^"]+)"') or "-")
  end
  return key
end

function done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    local counted = thread:get("answers")
    for key, n in pairs(counted) do totals[key] = (totals[key] or 0) + n end
  end
  local parts = {}
  for key, n in pairs(totals) do table.insert(parts, string.format('"%s":%d', key, n)) end
  io.write(string.format(
    '{"duration_us":%d,"requests":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"socket_errors":%d,"answers":{%s}}\n',
    summary.duration, summary.requests, latency:percentile(50), latency:percentile(99),
    latency.max, summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, table.concat(parts, ",")))
end
