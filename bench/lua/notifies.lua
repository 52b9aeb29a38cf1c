-- wrk script: POST /alipay/notify with pre-signed notify bodies, each sent once, in file order.
--
--   wrk -s bench/lua/notifies.lua URL -- NOTIFIES_FILE [FIRST]
-- NOTIFIES_FILE: one application/x-www-form-urlencoded body per line, signed as Alipay signs;
-- FIRST: the line to start at (1-based), so that runs one after another send fresh notifies.
-- Past the last line the file starts over: those are counted apart ("repeat ..."), since a
-- repeated notify is Alipay's retry, answered `success` but recorded as a duplicate.
-- An answer is "200" only when the body is exactly `success`; anything else is counted by its
-- status and body. done() prints one JSON line that bench/load.py reads.

local bodies = {}
local next_index = 1
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "summary.lua")  -- setup, done, count_answer
local repeating = false
local headers = {["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"}

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then table.insert(bodies, line) end
  end
  next_index = tonumber(args[2] or "1")
end

function request()
  if next_index > #bodies then
    next_index = 1
    repeating = true
  end
  local body = bodies[next_index]
  next_index = next_index + 1
  return wrk.format("POST", "/alipay/notify", headers, body)
end

function response(status, headers, body)
  local key
  if status == 200 and body == "success" then
    key = "200"
  else
    key = tostring(status) .. " " .. (body or ""):sub(1, 40):gsub('[%c"\\]', "?")
  end
  if repeating then key = "repeat " .. key end
  count_answer(key)
end
