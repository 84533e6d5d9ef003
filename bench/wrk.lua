-- bench/wrk.lua - the request shape for wrk, from the environment, and the
-- result as one machine-readable line (parsed by bench/bench.py).
--
--   BENCH_BODY_FILE    POST this file's content (application/x-www-form-urlencoded)
--   BENCH_BODIES_FILE  POST one line of this file per request, each line once
--                      (unique jti); thread i of n takes lines i, i+n, i+2n, ...
--   BENCH_THREADS      number of wrk threads (for BENCH_BODIES_FILE)
--   BENCH_AUTH         value of the Authorization header
--   BENCH_CLOSE=1      "Connection: close": a new connection (TLS handshake) per request
-- Without a body file the request is wrk's default GET of the URL's path.

local body_file = os.getenv("BENCH_BODY_FILE")
local bodies_file = os.getenv("BENCH_BODIES_FILE")
local auth = os.getenv("BENCH_AUTH")

local function slurp(path)
	local f = assert(io.open(path, "rb"))
	local s = f:read("*a")
	f:close()
	return s
end

if auth and auth ~= "" then
	wrk.headers["Authorization"] = auth
end
if os.getenv("BENCH_CLOSE") == "1" then
	wrk.headers["Connection"] = "close"
end
if body_file or bodies_file then
	wrk.method = "POST"
	wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
if body_file then
	wrk.body = slurp(body_file)
end

-- Setup runs in the main Lua state; each thread learns its index.
local threads = {}
function setup(thread)
	thread:set("tid", #threads)
	table.insert(threads, thread)
end

if bodies_file then
	local bodies = {}
	local next_i = 1
	exhausted = 0

	function init(args)
		local n = tonumber(os.getenv("BENCH_THREADS") or "1")
		local i = 0
		for line in io.lines(bodies_file) do
			if i % n == tid then
				table.insert(bodies, line)
			end
			i = i + 1
		end
	end

	function request()
		local b = bodies[next_i]
		if b == nil then
			-- Out of unused assertions: send the last one again (it will be
			-- refused as a replay and counted) and stop this thread.
			exhausted = exhausted + 1
			b = bodies[#bodies]
		else
			next_i = next_i + 1
		end
		return wrk.format(nil, nil, nil, b)
	end

	function response(status, headers, body)
		if exhausted > 0 then
			wrk.thread:stop()
		end
	end
end

function done(summary, latency, requests)
	local ex = 0
	for _, t in ipairs(threads) do
		ex = ex + (tonumber(t:get("exhausted")) or 0)
	end
	local e = summary.errors
	io.write(string.format(
		'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
		'"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
		'"max_us":%d,"mean_us":%.1f,"exhausted":%d}\n',
		summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
		e.status, e.timeout, latency:percentile(50), latency:percentile(90),
		latency:percentile(99), latency.max, latency.mean, ex))
end
