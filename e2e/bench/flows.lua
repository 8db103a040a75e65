-- wrk script of e2e/bench/run.sh for the API login and registration flows: every operation is
-- two requests on one connection, create the flow (GET /self-service/<kind>/api) and submit it
-- with the password method. Run with as many threads as connections (-t N -c N): wrk keeps one
-- Lua state per thread, and a submit must follow its own flow's creation.
--   KIND=login|registration  PASSWORD=...  USERS=n (login as login<n % USERS>@bench.test)
--   TAG=unique-per-run (registration emails)
local kind, password = os.getenv("KIND"), os.getenv("PASSWORD")
local users, tag = tonumber(os.getenv("USERS") or "8"), os.getenv("TAG") or "run"
local expected = kind == "login" and "session_token" or '"identity"'
local threads, created = {}, 0

function setup(thread)
  created = created + 1
  thread:set("id", created)
  table.insert(threads, thread)
end

-- Per thread (globals, so that done() can read them with thread:get).
completed, failed, first_error = 0, 0, ""
local flow, submitting, n = nil, false, 0

function init(args)
  n = id * 10000000
end

function request()
  if flow == nil then
    submitting = false
    return wrk.format("GET", "/self-service/" .. kind .. "/api", { Accept = "application/json" })
  end
  n = n + 1
  local body
  if kind == "login" then
    body = string.format('{"method":"password","identifier":"login%d@bench.test","password":"%s"}',
      n % users, password)
  else
    body = string.format('{"method":"password","traits":{"email":"reg-%s-%d@bench.test"},"password":"%s"}',
      tag, n, password)
  end
  local path = "/self-service/" .. kind .. "?flow=" .. flow
  flow, submitting = nil, true
  return wrk.format("POST", path, { Accept = "application/json", ["Content-Type"] = "application/json" }, body)
end

local function fail(status, body)
  failed = failed + 1
  if first_error == "" then first_error = status .. " " .. body:sub(1, 200) end
end

function response(status, headers, body)
  if not submitting then
    flow = status == 200 and body:match('^{"id":"([0-9a-f-]+)"') or nil
    if flow == nil then fail(status, body) end
  elseif status == 200 and body:find(expected, 1, true) then
    completed = completed + 1
  else
    fail(status, body)
  end
end

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

-- Latency: half the requests create flows (milliseconds), half submit them (a queued argon2 hash,
-- far slower), so the submits' median and p99 are the 75th and 99.5th percentiles of all.
function done(summary, latency, requests)
  local ok, bad, err = 0, 0, ""
  for _, t in ipairs(threads) do
    ok = ok + t:get("completed")
    bad = bad + t:get("failed")
    if err == "" then err = t:get("first_error") end
  end
  local e = summary.errors
  io.write(string.format(
    'JSON {"operations":%d,"failed":%d,"duration_us":%d,"submit_p50_us":%d,"submit_p99_us":%d,"errors":%d,"first_error":%s}\n',
    ok, bad, summary.duration, latency:percentile(75), latency:percentile(99.5),
    e.connect + e.read + e.write + e.timeout, json_string(err)))
end
