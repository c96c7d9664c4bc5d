#!/usr/bin/env bash
# Does shadowing slow the client down?  wrk with keep-alive connections
# against one nginx front (one worker), in these setups:
#
#   off              the strangler module, the route has no shadow
#   strangler        the same route with shadow: { to: slow, sample: 100 }
#   mirror           nginx's mirror module to the same slow backend
#   strangler-fast   shadow: { to: fast, sample: 100, compare: json }
#   mirror-fast      mirror to that fast backend
#
# The slow backend answers after SHADOW_BENCH_SLEEP ms (nginx proxying to a
# port that never answers, with that timeout); the fast one at once, with
# the primary's body.  Prints requests/s, p50 and p99, and their ratio to
# "off"; the strangler rows also show what became of the shadows.
# Loopback only; about a minute.  Needs wrk, python3 and `make module`.
#
#   SHADOW_BENCH_DURATION=8      seconds per run (after a 1 s warm-up)
#   SHADOW_BENCH_CONNECTIONS=32  keep-alive connections
#   SHADOW_BENCH_SLEEP=100       ms the slow shadow backend takes
#   SHADOW_BENCH_PORT_BASE=18500 ports BASE+1 .. BASE+9 and BASE+80
#   SHADOW_BENCH_ONLY=regex      run only the setups that match
#   MODULE=build/ngx_http_strangler_module.so
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

: "${SHADOW_BENCH_DURATION:=8}"
: "${SHADOW_BENCH_CONNECTIONS:=32}"
: "${SHADOW_BENCH_SLEEP:=100}"
: "${SHADOW_BENCH_PORT_BASE:=18500}"
: "${SHADOW_BENCH_ONLY:=.}"
: "${MODULE:=build/ngx_http_strangler_module.so}"

base=$SHADOW_BENCH_PORT_BASE
front=$((base + 80))
out=build/bench-shadow
nginx=${NGINX:-/usr/sbin/nginx}
module=$(cd "$(dirname "$MODULE")" && pwd)/$(basename "$MODULE")

for tool in wrk python3 curl "$nginx"; do
    command -v "$tool" >/dev/null \
        || { echo "shadow.sh: needs $tool" >&2; exit 1; }
done

[ -f "$module" ] || { echo "shadow.sh: no $module: run make" >&2; exit 1; }

# two CPUs or more: the front on one, everything else on the others
pin_front="" pin_rest=""
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    pin_front="taskset -c 0"
    pin_rest="taskset -c 1-$(($(nproc) - 1))"
fi

rm -rf "$out"
mkdir -p "$out/logs"

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -f "$out/front.pid" ] && kill "$(cat "$out/front.pid")" 2>/dev/null
    [ -f "$out/backends.pid" ] && kill "$(cat "$out/backends.pid")" 2>/dev/null
    true
}
trap cleanup EXIT


# the backends: primary, fast shadow, slow shadow, and the port that never
# answers (connections wait in its backlog; beyond it, SYNs are dropped)

python3 -c "
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $((base + 9))))
s.listen(4096)
time.sleep(1e9)
" &
pids+=($!)

body='{"id":1,"name":"ann","tags":["a","b"]}'

cat > "$out/backends.conf" <<EOF
worker_processes 1;
pid $top/$out/backends.pid;
error_log $top/$out/logs/backends.log error;
events { worker_connections 16384; }
http {
    access_log off;
    default_type application/json;
    server {
        listen 127.0.0.1:$((base + 1)) backlog=4096;
        location / { return 200 '$body'; }
    }
    server {
        listen 127.0.0.1:$((base + 2)) backlog=4096;
        location / { return 200 '$body'; }
    }
    server {
        listen 127.0.0.1:$((base + 3)) backlog=4096;
        location / {
            proxy_pass http://127.0.0.1:$((base + 9));
            proxy_connect_timeout ${SHADOW_BENCH_SLEEP}ms;
            proxy_read_timeout ${SHADOW_BENCH_SLEEP}ms;
        }
    }
}
EOF

cat > "$out/routes.yaml" <<EOF
version: 1
default: primary
backends: { primary: {}, fast: {}, slow: {} }
routes:
  - name: off
    paths: ["/off/*"]
    owner: primary
  - name: slow
    paths: ["/slow/*"]
    owner: primary
    shadow: { to: slow, sample: 100, compare: json }
  - name: fast
    paths: ["/fast/*"]
    owner: primary
    shadow: { to: fast, sample: 100, compare: json }
EOF

cat > "$out/front.conf" <<EOF
worker_processes 1;
pid $top/$out/front.pid;
error_log $top/$out/logs/front.log warn;
load_module $module;
events { worker_connections 16384; }
http {
    access_log off;
    strangler_zone strangler 1m;

    upstream primary { server 127.0.0.1:$((base + 1)); keepalive 64; }
    upstream fast { server 127.0.0.1:$((base + 2)); keepalive 64; }
    upstream slow { server 127.0.0.1:$((base + 3)); keepalive 64; }

    proxy_http_version 1.1;
    proxy_set_header Connection "";

    server {
        listen 127.0.0.1:$front backlog=4096;
        strangler_routes $top/$out/routes.yaml;

        location / { strangler; }
        location @primary { proxy_pass http://primary; }
        location @fast { proxy_pass http://fast; }
        location @slow { proxy_pass http://slow; }

        location /mirror/ {
            mirror /_slow;
            proxy_pass http://primary;
        }
        location /mirror-fast/ {
            mirror /_fast;
            proxy_pass http://primary;
        }
        location = /_slow { internal; proxy_pass http://slow\$request_uri; }
        location = /_fast { internal; proxy_pass http://fast\$request_uri; }

        location /_strangler/ { strangler_api; }
    }
}
EOF

$pin_rest "$nginx" -p "$top/$out" -c "$top/$out/backends.conf"
$pin_front "$nginx" -p "$top/$out" -c "$top/$out/front.conf"
sleep 0.5


# wrk's "50%  312.00us" -> milliseconds
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) n /= 1000
        else if (v ~ /ms$/) n = n
        else if (v ~ /s$/) n *= 1000
        printf "%.3f", n
    }'
}

shadow_counters() {
    curl -s "http://127.0.0.1:$front/_strangler/status" | python3 -c "
import json, sys
for r in json.load(sys.stdin)['routes']:
    if r['name'] == '$1':
        c = r['counters']['shadow']
        print(' '.join('%s=%s' % (k, c[k]) for k in c))
"
}

declare -A p50 p99 rps note

run() {
    local name=$1 path=$2 url res
    url="http://127.0.0.1:$front$path"

    echo "$name" | grep -Eq "$SHADOW_BENCH_ONLY" || return 0

    $pin_rest wrk -t1 -c"$SHADOW_BENCH_CONNECTIONS" -d1s "$url" >/dev/null
    echo "== $name: wrk -t1 -c$SHADOW_BENCH_CONNECTIONS" \
         "-d${SHADOW_BENCH_DURATION}s --latency $url"

    res=$($pin_rest wrk -t1 -c"$SHADOW_BENCH_CONNECTIONS" \
              -d"${SHADOW_BENCH_DURATION}s" --latency "$url")
    echo "$res" | grep -E "Requests/sec|  50%|  99%|Non-2xx|Socket errors" \
        | sed 's/^/   /'

    p50[$name]=$(to_ms "$(echo "$res" | awk '$1 == "50%" { print $2 }')")
    p99[$name]=$(to_ms "$(echo "$res" | awk '$1 == "99%" { print $2 }')")
    rps[$name]=$(echo "$res" | awk '/Requests\/sec/ { printf "%.0f", $2 }')

    case $name in
    strangler)      note[$name]=$(shadow_counters slow) ;;
    strangler-fast) note[$name]=$(shadow_counters fast) ;;
    *)              note[$name]="" ;;
    esac

    # let the shadows of this run end before the next one starts
    sleep 1
}

run off             /off/1
run strangler       /slow/1
run mirror          /mirror/1
run strangler-fast  /fast/1
run mirror-fast     /mirror-fast/1


echo
echo "slow shadow backend: ${SHADOW_BENCH_SLEEP} ms;" \
     "$SHADOW_BENCH_CONNECTIONS keep-alive connections;" \
     "${SHADOW_BENCH_DURATION} s per run"
echo
printf "%-16s %9s %10s %10s %9s %9s  %s\n" \
       setup "req/s" "p50 ms" "p99 ms" "p50/off" "p99/off" shadows
for name in off strangler mirror strangler-fast mirror-fast; do
    [ -n "${p50[$name]:-}" ] || continue
    if [ -n "${p50[off]:-}" ]; then
        r50=$(awk -v a="${p50[$name]}" -v b="${p50[off]}" \
                  'BEGIN { printf "%.2f", a / b }')
        r99=$(awk -v a="${p99[$name]}" -v b="${p99[off]}" \
                  'BEGIN { printf "%.2f", a / b }')
    else
        r50=- r99=-
    fi
    printf "%-16s %9s %10s %10s %9s %9s  %s\n" "$name" "${rps[$name]}" \
           "${p50[$name]}" "${p99[$name]}" "$r50" "$r99" "${note[$name]}"
done
