#!/usr/bin/env bash
# What does noise cancelling cost?  CPU time of the front's one worker per
# client request, with a 10 KB JSON body, in these setups:
#
#   plain        the strangler module, the route has no shadow
#   mirror       nginx's mirror module at 100% (no comparison)
#   shadow       shadow: { sample: 100, compare: json }, the same body
#   noise        the same with noise: 10 (a tenth of the reads sent twice)
#   shadow-diff  shadow, the candidate's body differs in one value
#   noise-diff   the same with noise: 10
#
# Byte-identical bodies are compared without parsing them; a body that
# differs goes through the streaming comparer (core/strangler_json_*.c).
#
# Each run is wrk with keep-alive connections for a fixed time; the
# worker's utime + stime (/proc/PID/stat) over the run, divided by the
# requests wrk completed, is the figure, and its ratio to "plain".  Two
# upstream exchanges per request are the floor of a shadow (2.0x).
# Loopback only; under a minute.  Needs wrk, python3 and `make module`.
#
#   NOISE_BENCH_DURATION=5       seconds per run (after a 1 s warm-up)
#   NOISE_BENCH_CONNECTIONS=16   keep-alive connections
#   NOISE_BENCH_PORT_BASE=18600  ports BASE+1 .. BASE+3 and BASE+80
#   MODULE=build/ngx_http_strangler_module.so
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

: "${NOISE_BENCH_DURATION:=5}"
: "${NOISE_BENCH_CONNECTIONS:=16}"
: "${NOISE_BENCH_PORT_BASE:=18600}"
: "${MODULE:=build/ngx_http_strangler_module.so}"

base=$NOISE_BENCH_PORT_BASE
front=$((base + 80))
out=build/bench-noise
nginx=${NGINX:-/usr/sbin/nginx}
module=$(cd "$(dirname "$MODULE")" && pwd)/$(basename "$MODULE")
hz=$(getconf CLK_TCK)

for tool in wrk python3 curl "$nginx"; do
    command -v "$tool" >/dev/null \
        || { echo "noise.sh: needs $tool" >&2; exit 1; }
done

[ -f "$module" ] || { echo "noise.sh: no $module: run make" >&2; exit 1; }

pin_front="" pin_rest=""
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    pin_front="taskset -c 0"
    pin_rest="taskset -c 1-$(($(nproc) - 1))"
fi

rm -rf "$out"
mkdir -p "$out/logs" "$out/html"

cleanup() {
    [ -f "$out/front.pid" ] && kill "$(cat "$out/front.pid")" 2>/dev/null
    [ -f "$out/backends.pid" ] && kill "$(cat "$out/backends.pid")" 2>/dev/null
    true
}
trap cleanup EXIT

# a 10 KB JSON body: about 100 items
python3 -c "
import json
items = []
body = ''
while len(body) < 10240:
    i = len(items)
    items.append({'id': i, 'name': 'item %d' % i, 'price': i * 1.5,
                  'tags': ['a', 'b', 'c'], 'note': 'x' * 20})
    body = json.dumps({'total': len(items), 'items': items})
open('$out/html/body.json', 'w').write(body)
open('$out/html/other.json', 'w').write(body.replace('\"total\": ',
                                                      '\"total\": 1'))
"

cat > "$out/backends.conf" <<CONF
worker_processes 1;
pid $top/$out/backends.pid;
error_log $top/$out/logs/backends.log error;
events { worker_connections 16384; }
http {
    access_log off;
    default_type application/json;
    server {
        listen 127.0.0.1:$((base + 1)) backlog=4096;
        location / { root $top/$out/html; try_files /body.json =404; }
    }
    server {
        listen 127.0.0.1:$((base + 2)) backlog=4096;
        location / { root $top/$out/html; try_files /body.json =404; }
    }
    server {
        listen 127.0.0.1:$((base + 3)) backlog=4096;
        location / { root $top/$out/html; try_files /other.json =404; }
    }
}
CONF

cat > "$out/routes.yaml" <<CONF
version: 1
default: primary
backends: { primary: {}, candidate: {}, other: {} }
routes:
  - name: plain
    paths: ["/plain/*"]
    owner: primary
  - name: shadow
    paths: ["/shadow/*"]
    owner: primary
    shadow: { to: candidate, sample: 100, compare: json }
  - name: noise
    paths: ["/noise/*"]
    owner: primary
    shadow: { to: candidate, sample: 100, compare: json, noise: 10 }
  - name: shadow-diff
    paths: ["/shadow-diff/*"]
    owner: primary
    shadow: { to: other, sample: 100, compare: json }
  - name: noise-diff
    paths: ["/noise-diff/*"]
    owner: primary
    shadow: { to: other, sample: 100, compare: json, noise: 10 }
CONF

cat > "$out/front.conf" <<CONF
worker_processes 1;
pid $top/$out/front.pid;
error_log $top/$out/logs/front.log warn;
load_module $module;
events { worker_connections 16384; }
http {
    access_log off;
    strangler_zone strangler 1m;

    upstream primary { server 127.0.0.1:$((base + 1)); keepalive 64; }
    upstream candidate { server 127.0.0.1:$((base + 2)); keepalive 64; }
    upstream other { server 127.0.0.1:$((base + 3)); keepalive 64; }

    proxy_http_version 1.1;
    proxy_set_header Connection "";

    server {
        listen 127.0.0.1:$front backlog=4096;
        strangler_routes $top/$out/routes.yaml;

        location / { strangler; }
        location @primary { proxy_pass http://primary; }
        location @candidate { proxy_pass http://candidate; }
        location @other { proxy_pass http://other; }

        location /mirror/ {
            mirror /_candidate;
            proxy_pass http://primary;
        }
        location = /_candidate {
            internal;
            proxy_pass http://candidate\$request_uri;
        }

        location /_strangler/ { strangler_api; }
    }
}
CONF

$pin_rest "$nginx" -p "$top/$out" -c "$top/$out/backends.conf"
$pin_front "$nginx" -p "$top/$out" -c "$top/$out/front.conf"
sleep 0.5

worker=$(pgrep -P "$(cat "$out/front.pid")" | head -1)

# the worker's CPU time in clock ticks
ticks() {
    awk '{ print $14 + $15 }' "/proc/$worker/stat"
}

declare -A us rps

run() {
    local name=$1 url="http://127.0.0.1:$front$2" t0 t1 res n

    $pin_rest wrk -t1 -c"$NOISE_BENCH_CONNECTIONS" -d1s "$url" >/dev/null
    sleep 0.5

    t0=$(ticks)
    res=$($pin_rest wrk -t1 -c"$NOISE_BENCH_CONNECTIONS" \
              -d"${NOISE_BENCH_DURATION}s" "$url")
    sleep 0.5       # the last shadows end
    t1=$(ticks)

    n=$(echo "$res" | awk '/requests in/ { print $1 }')
    rps[$name]=$(echo "$res" | awk '/Requests\/sec/ { printf "%.0f", $2 }')
    us[$name]=$(awk -v d=$((t1 - t0)) -v n="$n" -v hz="$hz" \
                    'BEGIN { printf "%.1f", d / hz * 1e6 / n }')

    echo "== $name: $n requests, $((t1 - t0)) ticks;" \
         "$(echo "$res" | grep -E 'Non-2xx|Socket errors' || echo 'no errors')"
}

run plain       /plain/1
run mirror      /mirror/1
run shadow      /shadow/1
run noise       /noise/1
run shadow-diff /shadow-diff/1
run noise-diff  /noise-diff/1

echo
echo "10 KB JSON body; $NOISE_BENCH_CONNECTIONS keep-alive connections;" \
     "${NOISE_BENCH_DURATION} s per run"
for route in noise noise-diff; do
    curl -s "http://127.0.0.1:$front/_strangler/routes/$route/diffs" \
        | python3 -c "
import json, sys
d = json.load(sys.stdin)
print('$route: compared %d, noise comparisons %d, mismatched %d'
      % (d['compared'], d['noise_compared'], d['mismatched']))"
done
echo
printf "%-12s %9s %12s %9s\n" setup "req/s" "CPU us/req" "x plain"
for name in plain mirror shadow noise shadow-diff noise-diff; do
    printf "%-12s %9s %12s %9s\n" "$name" "${rps[$name]}" "${us[$name]}" \
           "$(awk -v a="${us[$name]}" -v b="${us[plain]}" \
                  'BEGIN { printf "%.2f", a / b }')"
done
