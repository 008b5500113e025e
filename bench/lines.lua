-- lines.lua - wrk script: every request takes its own line of a file, so
-- that each request can carry a secret that works once (a refresh token
-- to rotate, a login state with its cookie).
--
--   wrk ... -s bench/lines.lua URL -- FILE MODE FALLBACK [LOCATION [THREADS]]
--
-- MODE form: each line is an application/x-www-form-urlencoded body,
--            POSTed to URL's path.
-- MODE get:  each line is "PATH<TAB>COOKIE": a GET of PATH with that
--            Cookie header.
-- LOCATION (a Lua pattern; "" or absent: no check): every answer must
-- have a Location header that matches it (a sign-in that ends in an
-- error redirect is a 302 too); done() prints "location mismatches N"
-- when some did not.
-- The lines are shared out between the THREADS (default 1) wrk threads.
-- When a thread has used all of its lines it stops, and its last
-- requests (at most one per connection) are a GET of FALLBACK (a cheap
-- path answering 200): no line is ever sent twice. wrk itself still
-- waits for the end of -d and divides by all of it, so done() prints
-- its own count: "lines rate R" (answers to lines per second, from the
-- first request to the last answer), "lines used N of M, answered A",
-- and "lines exhausted" when a thread ran out (the answers still in
-- flight when a thread stops are not counted).

local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk, bench_timespec *ts);
]]
local ts = ffi.new("bench_timespec")
local function now()
	ffi.C.clock_gettime(1, ts)   -- CLOCK_MONOTONIC
	return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
end

local threads = {}

function setup(thread)
	thread:set("tid", #threads)
	table.insert(threads, thread)
end

local reqs, n, i = {}, 0, 0
local fallback

function init(args)
	local file, mode, loc = args[1], args[2], args[4]
	local nthreads = tonumber(args[5] or "1")
	fallback = wrk.format("GET", args[3])
	local f = assert(io.open(file, "r"))
	local k = 0
	for line in f:lines() do
		if line ~= "" then
			if k % nthreads == tid then
				if mode == "form" then
					reqs[#reqs + 1] = wrk.format("POST", wrk.path, {
						["Content-Type"] = "application/x-www-form-urlencoded",
					}, line)
				else
					local path, cookie = line:match("^([^\t]+)\t(.*)$")
					reqs[#reqs + 1] = wrk.format("GET", path,
					    { ["Cookie"] = cookie })
				end
			end
			k = k + 1
		end
	end
	f:close()
	n = #reqs
	total = n
	used = 0
	exhausted = false
	bad = 0
	got = 0
	t_first = 0
	t_last = 0
	local check = loc ~= nil and loc ~= ""
	-- Answers are counted in order: the first n are the lines'.
	response = function(status, headers, body)
		got = got + 1
		if got <= n then
			t_last = now()
			if check then
				local l = headers["Location"] or headers["location"]
				if l == nil or not l:find(loc) then
					bad = bad + 1
				end
			end
		end
	end
end

local verified = false

function request()
	-- wrk calls request() once on thread 0's state before the run, to
	-- check the request: that call gets the first line without using it
	-- up (the request is not sent).
	if tid == 0 and not verified then
		verified = true
		return reqs[1] or fallback
	end
	if i < n then
		if i == 0 then
			t_first = now()
		end
		i = i + 1
		used = i
		local r = reqs[i]
		reqs[i] = nil
		return r
	end
	if not exhausted then
		exhausted = true
		wrk.thread:stop()
	end
	return fallback
end

function done(summary, latency, requests)
	local u, t, x, b, rate, gs = 0, 0, false, 0, 0, 0
	for _, th in ipairs(threads) do
		local g, t0, t1 = th:get("got") or 0, th:get("t_first"), th:get("t_last")
		if g > (th:get("total") or 0) then
			g = th:get("total")
		end
		if t0 and t1 and t1 > t0 then
			rate = rate + g / (t1 - t0)
		end
		gs = gs + g
		u = u + (th:get("used") or 0)
		t = t + (th:get("total") or 0)
		x = x or th:get("exhausted")
		b = b + (th:get("bad") or 0)
	end
	io.write(string.format("lines rate %.2f\n", rate))
	io.write(string.format("lines used %d of %d, answered %d\n", u, t, gs))
	if b > 0 then
		io.write(string.format("location mismatches %d\n", b))
	end
	if x then
		io.write("lines exhausted\n")
	end
	io.write(string.format("latency mean %.1f us\n", latency.mean))
end
