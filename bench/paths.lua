-- wrk script: cycles through a fixed list of requests (bench/gen.py's
-- paths-N.txt: "METHOD PATH BACKEND KIND" a line), spread over the routes.
-- A "{}" in PATH becomes a random number on every request, as real IDs
-- would.  Each thread starts at its own place in the list.  At the end,
-- one line for bench/bench.py:
--   BENCH requests=.. duration_us=.. p50_us=.. p99_us=.. errors=.. non2xx=..
--
--   wrk -s bench/paths.lua URL -- build/bench/paths-N.txt

local threads = {}
local counter = 0

function setup(thread)
    counter = counter + 1
    thread:set("tid", counter)
    table.insert(threads, thread)
end

local list, n, i = {}, 0, 0

function init(args)
    local f = assert(io.open(args[1]), "no request list")

    for line in f:lines() do
        local method, path = line:match("^(%S+)%s+(%S+)")

        if method then
            local head = method .. " "
            local tail = " HTTP/1.1\r\nHost: bench\r\n"
            if method ~= "GET" and method ~= "HEAD" then
                tail = tail .. "Content-Length: 0\r\n"
            end
            tail = tail .. "\r\n"

            local a, b = path:match("^(.-){}(.*)$")
            n = n + 1

            if a then
                list[n] = { head .. a, b .. tail }
            else
                list[n] = { head .. path .. tail }
            end
        end
    end

    f:close()
    assert(n > 0, "empty request list")

    math.randomseed(os.time() * 1000 + (tid or 1))
    i = ((tid or 1) - 1) * 7919 % n
end

function request()
    i = i % n + 1

    local e = list[i]

    if e[2] then
        return e[1] .. math.random(1, 999999999) .. e[2]
    end

    return e[1]
end

function done(summary, latency, requests)
    local e = summary.errors

    io.write(string.format(
        "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d "
        .. "errors=%d non2xx=%d\n",
        summary.requests, summary.duration,
        latency:percentile(50), latency:percentile(99),
        e.connect + e.read + e.write + e.timeout, e.status))
end
