-- wrk script for bench/bench.py: builds the request from environment variables and prints the
-- run's figures as one JSON line when the run ends.
--
-- BENCH_METHOD        GET or POST
-- BENCH_PATH          request target, such as /api/public/products?maxResultCount=10
-- BENCH_BODY_BYTES    size of the JSON request body; 0 sends none
-- BENCH_AUTHORIZATION the client's Authorization: a wrong one that a proxy must replace, or
--                     the real one when wrk calls the upstream directly
-- BENCH_TENANT        the client's __tenant, likewise

local function json_body(size)
  local prefix, suffix = '{"note":"', '"}'
  return prefix .. string.rep("x", size - #prefix - #suffix) .. suffix
end

wrk.method = os.getenv("BENCH_METHOD") or "GET"
wrk.path = os.getenv("BENCH_PATH") or "/"
wrk.headers["Accept"] = "application/json"
wrk.headers["Authorization"] = os.getenv("BENCH_AUTHORIZATION")
wrk.headers["__tenant"] = os.getenv("BENCH_TENANT")

local body_bytes = tonumber(os.getenv("BENCH_BODY_BYTES") or "0")
if body_bytes > 0 then
  wrk.body = json_body(body_bytes)
  wrk.headers["Content-Type"] = "application/json"
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"p50":%d,"p99":%d,"p999":%d,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency.mean, latency:percentile(50), latency:percentile(99),
    latency:percentile(99.9), latency.max))
end
