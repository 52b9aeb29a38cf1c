-- wrk script: POST /api/orders/{id}/payment, each unpaid order once, as its owner.
--
--   wrk -s bench/lua/links.lua URL -- ORDERS_FILE [CHANNEL]
-- ORDERS_FILE: one "token order_id" per line, taken in order; once all have been asked for, the
-- list starts over and those answers are counted apart ("repeat 200": the same payment, a fresh
-- link). CHANNEL: page (default) or wap. done() prints one JSON line that bench/load.py reads.

local orders = {}
local body
local next_index = 1
answers = {}  -- global: done() reads it from each thread with thread:get()
local threads = {}
local repeating = false

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    local token, order_id = line:match("^(%S+)%s+(%w+)$")
    if token then table.insert(orders, {token = token, id = order_id}) end
  end
  body = '{"channel":"' .. (args[2] or "page") .. '"}'
end

function request()
  if next_index > #orders then
    next_index = 1
    repeating = true
  end
  local order = orders[next_index]
  next_index = next_index + 1
  return wrk.format("POST", "/api/orders/" .. order.id .. "/payment", {
    ["Authorization"] = "Bearer " .. order.token,
    ["Content-Type"] = "application/json",
  }, body)
end

function response(status, headers, body)
  local key = tostring(status)
  if status >= 300 then
    key = key .. " " .. (body:match('"code"%s*:%s*"([^"]+)"') or "-")
  elseif not body:find('"pay_url"', 1, true) then
    key = "no pay_url"
  end
  if repeating then key = "repeat " .. key end
  answers[key] = (answers[key] or 0) + 1
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
