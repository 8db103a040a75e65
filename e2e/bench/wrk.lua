-- wrk script of e2e/bench/run.sh: rotates through a file of header values (session tokens,
-- cookies) or URL paths, and prints the summary as one JSON line for the report.
--   HEADER=X-Session-Token VALUES=file  -> that header, one value per request, round robin
--   PATHS=file                          -> one path per request, round robin
local values, paths, header = {}, {}, os.getenv("HEADER")
local function load(file, into)
  if file then for line in io.lines(file) do if #line > 0 then into[#into + 1] = line end end end
end
load(os.getenv("VALUES"), values)
load(os.getenv("PATHS"), paths)
local n = 0

function init(args)
  -- Each thread starts elsewhere in the lists.
  n = math.random(1, 1000000)
end

function request()
  n = n + 1
  local path = wrk.path
  if #paths > 0 then path = paths[(n % #paths) + 1] end
  local headers = {}
  if header and #values > 0 then headers[header] = values[(n % #values) + 1] end
  return wrk.format("GET", path, headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"errors":%d,"non2xx":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
