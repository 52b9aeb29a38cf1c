-- wrk script: POST /api/orders as many buyers, counting every answer by status and problem code.
--
--   wrk -s bench/lua/orders.lua URL -- BUYERS_FILE MODE [SKUS]
-- BUYERS_FILE: one "token address_id" per line; MODE: "spread" (three SKUs, one from each third
-- of 1..SKUS, one unit each, as ../bench/pg/pg_limit_order.sql does) or "hot:ID" (one unit of
-- SKU ID). done() (bench/lua/summary.lua) prints the JSON line bench/load.py reads.

local buyers = {}
local mode, skus, hot_sku
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "summary.lua")  -- setup, done, count_answer, problem_key

function init(args)
  for line in io.lines(args[1]) do
    local token, address = line:match("^(%S+)%s+(%d+)$")
    if token then table.insert(buyers, {token = token, address = address}) end
  end
  mode = args[2]
  skus = tonumber(args[3] or "1000")
  hot_sku = mode:match("^hot:(%d+)$")
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
end

local function items()
  if hot_sku then
    return '[{"sku_id":' .. hot_sku .. ',"count":1}]'
  end
  local third = math.floor(skus / 3)
  local a = math.random(1, third)
  local b = math.random(third + 1, 2 * third)
  local c = math.random(2 * third + 1, skus)
  return string.format('[{"sku_id":%d,"count":1},{"sku_id":%d,"count":1},{"sku_id":%d,"count":1}]',
    a, b, c)
end

function request()
  local buyer = buyers[math.random(#buyers)]
  local body = '{"address_id":' .. buyer.address .. ',"pay_method":"cash","items":' .. items() .. '}'
  return wrk.format("POST", "/api/orders", {
    ["Authorization"] = "Bearer " .. buyer.token,
    ["Content-Type"] = "application/json",
  }, body)
end

function response(status, headers, body)
  count_answer(problem_key(status, body))
end
