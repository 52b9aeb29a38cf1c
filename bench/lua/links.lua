-- wrk script: POST /api/orders/{id}/payment, each unpaid order once, as its owner.
--
--   wrk -s bench/lua/links.lua URL -- ORDERS_FILE [CHANNEL]
-- ORDERS_FILE: one "token order_id" per line, taken in order; once all have been asked for, the
-- list starts over and those answers are counted apart ("repeat 200": the same payment, a fresh
-- link). CHANNEL: page (default) or wap. done() prints one JSON line that bench/load.py reads.

local orders = {}
local body
local next_index = 1
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "summary.lua")  -- setup, done, count_answer, problem_key
local repeating = false

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
  local key = problem_key(status, body)
  if status < 300 and not body:find('"pay_url"', 1, true) then
    key = "no pay_url"
  end
  if repeating then key = "repeat " .. key end
  count_answer(key)
end
