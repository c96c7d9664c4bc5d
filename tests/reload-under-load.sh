#!/usr/bin/env bash
# Reload under load (make reload-load): wrk drives keep-alive traffic on
# loopback through nginx + strangler (master on, 2 workers, the zone) while
# the route table is rewritten, alternating between two valid tables, and
# `nginx -s reload` runs RELOADS times.  Bounded: about RELOADS * INTERVAL
# + 10 seconds.  Passes with:
#   - 0 non-2xx responses, 0 connect, write and timeout errors;
#   - every reload accepted and seen by the master, the last table serving;
#   - nothing above [warn] in the error log (no upstream error, no crash);
#   - read errors only as nginx itself causes them: an old worker closes
#     its idle keep-alive connections when it exits, and wrk counts a read
#     error when its next request meets the closed connection (it does not
#     retry as browsers do).  So at most one per connection per reload.
#     BASELINE=1 runs the same without the module (plain proxy_pass): it
#     shows as many.
#
#   tests/reload-under-load.sh [NGINX [MODULE.so]]
#
# NGINX (or $NGINX_BIN) defaults to /usr/sbin/nginx and MODULE.so (or
# $MODULE) to the module `make` builds; an empty MODULE.so is for an nginx
# with the module compiled in, e.g. the ASan build:
#   ASAN_OPTIONS=detect_leaks=0 tests/reload-under-load.sh build/asan/sbin/nginx ""
# The backends run in an nginx of their own, which is not reloaded.
set -euo pipefail

# nginx reads $NGINX as sockets inherited from an old binary
unset NGINX

top=$(cd "$(dirname "$0")/.." && pwd)
nginx=${1:-${NGINX_BIN:-/usr/sbin/nginx}}
module=${2-${MODULE-$top/build/ngx_http_strangler_module.so}}
reloads=${RELOADS:-50}
interval=${INTERVAL:-0.2}
connections=${CONNECTIONS:-32}
prefix=$top/build/reload-load
duration=$(awk -v n="$reloads" -v i="$interval" \
               'BEGIN { printf "%d", n * i + 4 }')

command -v wrk >/dev/null || {
    echo "reload-under-load: wrk is missing (apt-get install wrk)" >&2
    exit 1
}

free_port() {
    perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1",
                                      LocalPort => 0) or die $!;
        print $s->sockport, "\n"'
}

front=$(free_port)
mono=$(free_port)
msgs=$(free_port)

rm -rf "$prefix"
mkdir -p "$prefix/conf" "$prefix/logs"

load=""
[ -n "$module" ] && load="load_module $module;"

# the backends: an nginx of their own, which is not reloaded
mkdir -p "$prefix/backends/conf" "$prefix/backends/logs"
cat >"$prefix/backends/conf/nginx.conf" <<END
master_process on;
worker_processes 1;
daemon on;
error_log logs/error.log notice;
pid logs/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$mono;
        location / { return 200 "monolith\n"; }
    }
    server {
        listen 127.0.0.1:$msgs;
        location / { return 200 "messages\n"; }
    }
}
END

# BASELINE=1: the same without the module, plain proxy_pass, to compare
if [ -n "${BASELINE:-}" ]; then
    front_conf='location / { proxy_pass http://monolith;
                    proxy_http_version 1.1;
                    proxy_set_header Connection ""; }'
    load=""
    zone=""
else
    front_conf='strangler_routes routes.yaml;
        location / { strangler; }'
    zone="strangler_zone strangler 1m;"
fi

cat >"$prefix/conf/nginx.conf" <<END
$load
master_process on;
worker_processes 2;
daemon on;
error_log logs/error.log notice;
pid logs/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 1000000;
    $zone

    upstream monolith { server 127.0.0.1:$mono; keepalive 16; }
    upstream messages { server 127.0.0.1:$msgs; keepalive 16; }

    server {
        listen 127.0.0.1:$front;
        $front_conf
        location @monolith {
            proxy_pass http://monolith;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
        location @messages {
            proxy_pass http://messages;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
END

# two valid tables: the reads of conversations and users swap sides, and
# the second one has a regex, a sticky split and a route of its own
cat >"$prefix/conf/a.yaml" <<'END'
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: conversations
    paths: [/api/conversations, "/api/conversations/{id}"]
    owner: monolith
    reads: messages
  - name: users
    paths: ["/api/users/*"]
    owner: monolith
END

cat >"$prefix/conf/b.yaml" <<'END'
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: conversations
    paths: [/api/conversations, "/api/conversations/{id}"]
    owner: monolith
  - name: users
    paths: ["/api/users/*", "~ ^/api/users/[0-9]+/inbox$"]
    owner: monolith
    reads: { messages: 50, monolith: 50 }
    sticky: header:X-User-Id
  - name: search
    paths: [/api/search]
    owner: messages
END

# requests on several routes; non-2xx responses counted by status
cat >"$prefix/count.lua" <<'END'
local paths = { "/api/conversations/1", "/api/users/7/inbox",
                "/api/search", "/elsewhere", "/api/conversations" }
local threads = {}
local n = 0
bad = {}                -- a global, for thread:get()

function setup(thread)
    table.insert(threads, thread)
end

function request()
    n = n + 1
    return wrk.format("GET", paths[n % #paths + 1],
                      { ["X-User-Id"] = tostring(n % 100) })
end

function response(status, headers, body)
    if status < 200 or status > 299 then
        bad[status] = (bad[status] or 0) + 1
    end
end

function done(summary, latency, requests)
    local total = 0
    for _, t in ipairs(threads) do
        local b = t:get("bad")
        for status, count in pairs(b) do
            io.write(string.format("non-2xx status %d: %d\n", status, count))
            total = total + count
        end
    end
    io.write(string.format("non-2xx total: %d\n", total))
end
END

cp "$prefix/conf/a.yaml" "$prefix/conf/routes.yaml"

ngx() {
    "$nginx" -p "$prefix/" -c conf/nginx.conf "$@"
}

master=""
backends=""
wrk_pid=""
stop() {
    local pid=$1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -QUIT "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
    [ -n "$wrk_pid" ] && kill "$wrk_pid" 2>/dev/null || true
    stop "$master"
    stop "$backends"
}
trap cleanup EXIT

# the daemon writes its pid file after the starting process has returned
pid_of() {
    for _ in $(seq 100); do
        [ -s "$1" ] && { cat "$1"; return 0; }
        sleep 0.1
    done
    echo "reload-under-load: no pid file $1" >&2
    return 1
}

"$nginx" -p "$prefix/backends/" -c conf/nginx.conf
backends=$(pid_of "$prefix/backends/logs/nginx.pid")
ngx
master=$(pid_of "$prefix/logs/nginx.pid")

for _ in $(seq 50); do
    curl -fs "http://127.0.0.1:$front/api/conversations/1" >/dev/null && break
    sleep 0.1
done

echo "reload-under-load: nginx $("$nginx" -v 2>&1 | sed 's/.*nginx\///')," \
     "2 workers, $connections connections, ${duration}s," \
     "$reloads reloads every ${interval}s"

wrk -t2 -c"$connections" -d"${duration}s" --timeout 5s \
    -s "$prefix/count.lua" "http://127.0.0.1:$front/" \
    >"$prefix/wrk.out" 2>&1 &
wrk_pid=$!

sleep 1
failed_reloads=0
start=$(date +%s.%N)
for i in $(seq "$reloads"); do
    if [ $((i % 2)) = 1 ]; then t=b; else t=a; fi
    # the way deployment tools write it: a new file renamed over the old
    cp "$prefix/conf/$t.yaml" "$prefix/conf/routes.yaml.new"
    mv -f "$prefix/conf/routes.yaml.new" "$prefix/conf/routes.yaml"
    ngx -s reload 2>>"$prefix/logs/reload.err" \
        || failed_reloads=$((failed_reloads + 1))
    sleep "$interval"
done
end=$(date +%s.%N)

wait "$wrk_pid" || true
wrk_pid=""
cat "$prefix/wrk.out"

# the master handles SIGHUPs one at a time; give the last one a moment
sleep 1
last=$t
want=messages
[ "$last" = b ] && want=monolith
got=$(curl -fs "http://127.0.0.1:$front/api/conversations/1" || echo failed)
hups=$(grep -c 'signal 1 (SIGHUP) received' "$prefix/logs/error.log" || true)
bad_log=$(grep -E '\[(error|crit|alert|emerg)\]' "$prefix/logs/error.log" \
          | head -5 || true)

requests=$(awk '/requests in/ { print $1 }' "$prefix/wrk.out")
errors() {
    awk -v kind="$1" '/Socket errors:/ {
        gsub(",", "");
        for (i = 3; i < NF; i += 2) if ($i == kind) print $(i + 1) }' \
        "$prefix/wrk.out"
}
connect_errors=$(errors connect)
read_errors=$(errors read)
write_errors=$(errors write)
timeouts=$(errors timeout)
other_errors=$(( ${connect_errors:-0} + ${write_errors:-0} + ${timeouts:-0} ))
read_errors=${read_errors:-0}
read_bound=$(( reloads * connections ))
non2xx=$(awk '/non-2xx total:/ { print $3 }' "$prefix/wrk.out")
non2xx=${non2xx:-missing}

echo "reload-under-load: $requests requests, $non2xx non-2xx," \
     "$other_errors connect/write/timeout errors, $read_errors read errors" \
     "(keep-alive closes of exiting workers, at most $read_bound)," \
     "$hups/$reloads reloads seen by the master" \
     "($failed_reloads refused), reloads took" \
     "$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }')s," \
     "now serving \"$(echo "$got" | tr -d '\n')\""

rc=0
[ "$other_errors" = 0 ] || {
    echo "FAIL: connect, write or timeout errors" >&2
    rc=1
}
[ "$read_errors" -le "$read_bound" ] || {
    echo "FAIL: more read errors than exiting workers explain" >&2
    rc=1
}
[ "$non2xx" = 0 ] || { echo "FAIL: non-2xx responses" >&2; rc=1; }
[ "$failed_reloads" = 0 ] || {
    echo "FAIL: nginx -s reload failed:" >&2
    head -5 "$prefix/logs/reload.err" >&2
    rc=1
}
[ "$hups" = "$reloads" ] || {
    echo "FAIL: $hups reloads of $reloads" >&2
    rc=1
}
[ "$got" = "$want" ] || [ -n "${BASELINE:-}" ] || {
    echo "FAIL: the last table is not serving (want $want)" >&2
    rc=1
}
[ -z "$bad_log" ] || { echo "FAIL: error log:" >&2; echo "$bad_log" >&2; rc=1; }
[ "$rc" = 0 ] && echo "reload-under-load: ok"
exit "$rc"
